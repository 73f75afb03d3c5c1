//! Placeholder: the Internet checksum lands here.
