//! Placeholder: RingBuffer and Assembler land here.
