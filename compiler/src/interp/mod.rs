//! Reference interpreter over the IR. (being written)
