//! IR text printer (being written).
