//! Config (filled next).
