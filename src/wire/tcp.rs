//! Placeholder: TcpHeader::parse / emit land here.
