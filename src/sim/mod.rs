//! A deterministic network simulator (feature `testing`).
