//! `.npy` files: [`load_npy`] reads an array of any kern dtype from a file NumPy (or
//! anyone) wrote, choosing the dtype from the file's header, and [`save_npy`] writes
//! any array view, whatever its strides.
//!
//! The format itself is ndarray-npy's business; this module owns the mapping between
//! `.npy` type descriptors (`'<f8'`, `'|b1'`, `'>i4'`, ...) and kern dtypes, the checks
//! that keep a damaged file from panicking or allocating without bound, and error
//! messages in user terms. It must not know how arrays are printed, built or computed
//! with.
//!
//! [`NpyRows`] reads and writes blocks of a C-ordered file in place — a run of
//! indices of one axis, every index of the others — with positioned I/O
//! (`pread`/`pwrite`), so that processes can each load or save their own block
//! of one file without any of them holding it all.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek};
use std::path::{Path, PathBuf};

use ndarray::ArrayD;
use ndarray_npy::npy::header::{Header, ParseHeaderError, ReadHeaderError};
use ndarray_npy::{ReadNpyError, ReadNpyExt, ReadableElement, WriteNpyError, WriteNpyExt};

use super::{with_array, with_dtype, ArrayRef, DType, Element, NdArray};
use crate::shape::shape_tuple;

/// Why an `.npy` file could not be loaded or saved. Every message names the file.
#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    #[error("cannot load `{}`: no such file", .path.display())]
    NotFound { path: PathBuf },
    /// The file exists but could not be read (permissions, a directory, a device
    /// error).
    #[error("cannot read `{}`: {source}", .path.display())]
    Read { path: PathBuf, source: io::Error },
    /// The file is not in the `.npy` format, or its header is damaged.
    #[error("cannot load `{}`: not an .npy file: {reason}", .path.display())]
    NotNpy { path: PathBuf, reason: String },
    /// The elements have a type no kern array can hold (complex numbers, strings,
    /// records, ...). `descr` is the header's type descriptor, as NumPy spells it.
    #[error(
        "cannot load `{}`: its dtype {descr} ({kind}) is not supported; kern arrays \
         hold bool, integers of 8 to 64 bits, f32 and f64",
        .path.display()
    )]
    UnsupportedDtype {
        path: PathBuf,
        descr: String,
        kind: String,
    },
    /// The data after the header is not exactly what the header's shape and dtype
    /// need: the file is truncated, or has bytes after the array.
    #[error(
        "cannot load `{}`: the header describes an array of shape {} and dtype {descr} \
         ({expected} bytes of data), but the file holds {actual} bytes of data",
        .path.display(), shape_tuple(.shape)
    )]
    SizeMismatch {
        path: PathBuf,
        shape: Vec<usize>,
        descr: String,
        expected: u64,
        actual: u64,
    },
    /// The header's shape has more dimensions than a kern array.
    #[error(
        "cannot load `{}`: its array has {dims} dimensions; kern arrays have at most {}",
        .path.display(), kern_compiler::types::MAX_ARRAY_DIMS
    )]
    TooManyDimensions { path: PathBuf, dims: usize },
    /// The header's shape has more elements than memory can address.
    #[error(
        "cannot load `{}`: an array of shape {} is too large to hold in memory",
        .path.display(), shape_tuple(.shape)
    )]
    TooLarge { path: PathBuf, shape: Vec<usize> },
    /// The data holds a value its dtype cannot have (a bool byte other than 0 or 1).
    #[error("cannot load `{}`: invalid data: {reason}", .path.display())]
    InvalidData { path: PathBuf, reason: String },
    #[error("cannot save `{}`: {source}", .path.display())]
    Write { path: PathBuf, source: io::Error },
}

/// Reads the `.npy` file at `path` as an array of the dtype its header names.
///
/// Both C-order and Fortran-order files load with the right value at every index (a
/// Fortran-order file keeps its Fortran layout), and multi-byte dtypes load from
/// little- and big-endian files alike. A damaged file is an error, never a panic.
pub fn load_npy(path: &Path) -> Result<NdArray, NpyError> {
    let (mut file, _, dtype, _) = checked_header(path)?;
    file.rewind().map_err(|e| read_error(path, e))?;
    with_dtype!(dtype, |T| read_array::<T>(path, file))
}

fn read_error(path: &Path, source: io::Error) -> NpyError {
    match source.kind() {
        io::ErrorKind::NotFound => NpyError::NotFound {
            path: path.to_owned(),
        },
        _ => NpyError::Read {
            path: path.to_owned(),
            source,
        },
    }
}

/// The open file at `path`, its header, the dtype it names and where its data
/// starts, with every check [`load_npy`] makes before reading the data.
fn checked_header(path: &Path) -> Result<(File, Header, DType, u64), NpyError> {
    let read_error = |source: io::Error| read_error(path, source);
    let mut file = File::open(path).map_err(read_error)?;
    let file_len = file.metadata().map_err(read_error)?.len();
    if !header_fits(&mut file, file_len).map_err(read_error)? {
        return Err(not_npy(path, "the header is truncated"));
    }
    let header = Header::from_reader(&mut file).map_err(|err| header_error(path, err))?;
    if header.shape.len() > kern_compiler::types::MAX_ARRAY_DIMS {
        return Err(NpyError::TooManyDimensions {
            path: path.to_owned(),
            dims: header.shape.len(),
        });
    }
    let data_start = file.stream_position().map_err(read_error)?;
    let data_len = file_len - data_start;
    let descr = descr_text(&header);
    let dtype = header
        .type_descriptor
        .as_string()
        .and_then(|d| dtype_of_descr(d))
        .ok_or_else(|| NpyError::UnsupportedDtype {
            path: path.to_owned(),
            kind: describe_unsupported(&header),
            descr: descr.clone(),
        })?;
    let expected = data_bytes(&header.shape, dtype).ok_or_else(|| NpyError::TooLarge {
        path: path.to_owned(),
        shape: header.shape.clone(),
    })?;
    if expected != data_len {
        return Err(NpyError::SizeMismatch {
            path: path.to_owned(),
            shape: header.shape,
            descr,
            expected,
            actual: data_len,
        });
    }
    Ok((file, header, dtype, data_start))
}

/// Writes `array` to `path` as an `.npy` file NumPy's `np.load` reads back, creating
/// or replacing the file. Views of any strides are written as the values they show;
/// C- and Fortran-contiguous arrays are written in their own order.
pub fn save_npy(path: &Path, array: &ArrayRef<'_>) -> Result<(), NpyError> {
    let write_error = |source: io::Error| NpyError::Write {
        path: path.to_owned(),
        source,
    };
    let writer = BufWriter::new(File::create(path).map_err(write_error)?);
    with_array!(ArrayRef, array, |a: T| a.write_npy(writer)).map_err(|err| match err {
        WriteNpyError::Io(source) => write_error(source),
        other => write_error(io::Error::other(other)),
    })
}

/// An `.npy` file read or written by blocks along one axis, in place: its
/// dtype, its shape and where its data starts.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyRows {
    pub dtype: DType,
    pub shape: Vec<usize>,
    data_start: u64,
    /// C order and this machine's byte order: rows lie in the file as they lie
    /// in memory.
    in_place: bool,
}

impl NpyRows {
    /// The layout of the `.npy` file at `path`, with the checks [`load_npy`]
    /// makes (the same errors).
    pub fn open(path: &Path) -> Result<NpyRows, NpyError> {
        let (_, header, dtype, data_start) = checked_header(path)?;
        let descr = header
            .type_descriptor
            .as_string()
            .cloned()
            .unwrap_or_default();
        let native = dtype.size_bytes() == 1
            || descr.starts_with(if cfg!(target_endian = "little") {
                '<'
            } else {
                '>'
            });
        Ok(NpyRows {
            dtype,
            in_place: native && !header.layout.is_fortran() && !header.shape.is_empty(),
            shape: header.shape,
            data_start,
        })
    }

    /// Whether rows can be read in place: the file has at least one axis, is
    /// in C order and in this machine's byte order. (Other files load whole.)
    pub fn by_rows(&self) -> bool {
        self.in_place
    }

    /// Where the block `range` of `axis` lies in the data: one contiguous
    /// piece of bytes per index of the axes before `axis`, each at the returned
    /// file offset and of the returned length (the block's bytes in C order).
    fn pieces(&self, axis: usize, range: std::ops::Range<usize>) -> (Vec<u64>, usize) {
        let inner = self.shape[axis + 1..].iter().product::<usize>() * self.dtype.size_bytes();
        let outer: usize = self.shape[..axis].iter().product();
        let stride = (self.shape[axis] * inner) as u64;
        let first = self.data_start + (range.start * inner) as u64;
        let offsets = (0..outer as u64).map(|o| first + o * stride).collect();
        (offsets, range.len() * inner)
    }

    /// The block `range` of `axis` of the file at `path` (every index of the
    /// other axes), read in place (only when [`NpyRows::by_rows`]): one read
    /// for axis 0, one per index of the axes before `axis` otherwise.
    pub fn read_block(
        &self,
        path: &Path,
        axis: usize,
        range: std::ops::Range<usize>,
    ) -> Result<NdArray, NpyError> {
        use std::os::unix::fs::FileExt;
        let mut shape = self.shape.clone();
        shape[axis] = range.len();
        let too_large = || NpyError::TooLarge {
            path: path.to_owned(),
            shape: shape.clone(),
        };
        // Bools are read as bytes and checked: a byte other than 0 or 1 is no bool.
        let stored = if self.dtype == DType::Bool {
            DType::U8
        } else {
            self.dtype
        };
        let mut block = NdArray::zeros(stored, &shape).map_err(|_| too_large())?;
        let file = File::open(path).map_err(|e| read_error(path, e))?;
        let (offsets, piece) = self.pieces(axis, range);
        with_array!(NdArray, &mut block, |b: T| {
            let elements = b.as_slice_mut().expect("a new array is in C order");
            // SAFETY: plain numbers, any bytes are a value.
            let bytes = unsafe {
                std::slice::from_raw_parts_mut(
                    elements.as_mut_ptr().cast::<u8>(),
                    std::mem::size_of_val(elements),
                )
            };
            for (at, bytes) in offsets.iter().zip(bytes.chunks_mut(piece.max(1))) {
                file.read_exact_at(bytes, *at)
                    .map_err(|e| read_error(path, e))?;
            }
        });
        if self.dtype != DType::Bool {
            return Ok(block);
        }
        let bytes = block.as_array::<u8>().expect("read as bytes");
        if let Some(b) = bytes.iter().find(|b| **b > 1) {
            return Err(NpyError::InvalidData {
                path: path.to_owned(),
                reason: format!("a bool is stored as 0 or 1, not {b}"),
            });
        }
        Ok(NdArray::from(bytes.mapv(|b| b == 1)))
    }

    /// The layout a C-ordered `.npy` file of `dtype` and `shape` (at least one
    /// axis) has; [`NpyRows::create`] makes it.
    pub fn planned(path: &Path, dtype: DType, shape: &[usize]) -> Result<NpyRows, NpyError> {
        Ok(NpyRows {
            dtype,
            shape: shape.to_vec(),
            data_start: Self::header(path, dtype, shape)?.len() as u64,
            in_place: true,
        })
    }

    fn header(path: &Path, dtype: DType, shape: &[usize]) -> Result<Vec<u8>, NpyError> {
        let header = with_dtype!(dtype, |T| Header {
            type_descriptor: <T as ndarray_npy::WritableElement>::type_descriptor(),
            layout: ndarray_npy::npy::header::Layout::Standard,
            shape: shape.to_vec(),
        });
        header.to_bytes().map_err(|e| NpyError::Write {
            path: path.to_owned(),
            source: io::Error::other(e),
        })
    }

    /// Creates (or replaces) `path` as the file [`NpyRows::planned`] describes,
    /// its data all zero bytes, to be filled by [`NpyRows::write_block`]: a
    /// sparse file, so no data is written yet.
    pub fn create(&self, path: &Path) -> Result<(), NpyError> {
        use std::io::Write;
        let write_error = |source: io::Error| NpyError::Write {
            path: path.to_owned(),
            source,
        };
        let header = Self::header(path, self.dtype, &self.shape)?;
        let data = data_bytes(&self.shape, self.dtype).ok_or_else(|| NpyError::TooLarge {
            path: path.to_owned(),
            shape: self.shape.clone(),
        })?;
        let file = File::create(path).map_err(write_error)?;
        (&file).write_all(&header).map_err(write_error)?;
        file.set_len(self.data_start + data).map_err(write_error)
    }

    /// Writes `block` (this file's dtype, every axis but `axis` the file's) as
    /// the indices from `start` on of `axis`, in place, into the file at `path`
    /// that [`NpyRows::create`] made.
    pub fn write_block(
        &self,
        path: &Path,
        axis: usize,
        start: usize,
        block: &NdArray,
    ) -> Result<(), NpyError> {
        use std::os::unix::fs::FileExt;
        let write_error = |source: io::Error| NpyError::Write {
            path: path.to_owned(),
            source,
        };
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(write_error)?;
        let len = block.shape().get(axis).copied().unwrap_or(0);
        let (offsets, piece) = self.pieces(axis, start..start + len);
        with_array!(NdArray, block, |b: T| {
            let standard = b.as_standard_layout();
            let elements = standard.as_slice().expect("in C order");
            // SAFETY: plain numbers (a bool is one byte, 0 or 1).
            let bytes = unsafe {
                std::slice::from_raw_parts(
                    elements.as_ptr().cast::<u8>(),
                    std::mem::size_of_val(elements),
                )
            };
            offsets
                .iter()
                .zip(bytes.chunks(piece.max(1)))
                .try_for_each(|(at, bytes)| file.write_all_at(bytes, *at).map_err(write_error))
        })
    }
}

/// The type descriptors ndarray-npy reads, and the dtype each one is.
const DESCRIPTORS: [(&str, DType); 23] = [
    ("|b1", DType::Bool),
    ("|i1", DType::I8),
    ("i1", DType::I8),
    ("b", DType::I8),
    ("|u1", DType::U8),
    ("u1", DType::U8),
    ("B", DType::U8),
    ("<i2", DType::I16),
    (">i2", DType::I16),
    ("<i4", DType::I32),
    (">i4", DType::I32),
    ("<i8", DType::I64),
    (">i8", DType::I64),
    ("<u2", DType::U16),
    (">u2", DType::U16),
    ("<u4", DType::U32),
    (">u4", DType::U32),
    ("<u8", DType::U64),
    (">u8", DType::U64),
    ("<f4", DType::F32),
    (">f4", DType::F32),
    ("<f8", DType::F64),
    (">f8", DType::F64),
];

fn dtype_of_descr(descr: &str) -> Option<DType> {
    DESCRIPTORS
        .iter()
        .find(|(d, _)| *d == descr)
        .map(|&(_, dtype)| dtype)
}

/// What the elements of a file with an unsupported descriptor are, in words.
fn describe_unsupported(header: &Header) -> String {
    let Some(descr) = header.type_descriptor.as_string() else {
        return "structured records".to_owned();
    };
    let code = descr.trim_start_matches(['<', '>', '|', '=']);
    let readable_in_another_order = ["<", "|"]
        .iter()
        .any(|order| dtype_of_descr(&format!("{order}{code}")).is_some());
    let kind = match code.chars().next() {
        _ if readable_in_another_order => "marked with a byte order kern does not read",
        Some('c') => "complex numbers",
        Some('U') => "unicode strings",
        Some('S' | 'a') => "byte strings",
        Some('O') => "Python objects",
        Some('V') => "raw bytes or records",
        Some('M') => "datetimes",
        Some('m') => "timedeltas",
        Some('f') if code == "f2" => "16-bit floats",
        Some('f') if ["f10", "f12", "f16"].contains(&code) => "extended-precision floats",
        // A kind letter and a byte count, nothing after (`<f8xyz` is not a float).
        Some('i' | 'u' | 'f' | 'b')
            if code.len() > 1 && code[1..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            "numbers of an unsupported width"
        }
        _ => "of an unknown type",
    };
    kind.to_owned()
}

/// The header's type descriptor as NumPy prints it (`'<f8'`, `[('x', '<i4')]`).
fn descr_text(header: &Header) -> String {
    header.type_descriptor.to_string()
}

/// The number of data bytes an array of `shape` and `dtype` takes, if it is one
/// ndarray can hold (its element count and byte size fit `isize`).
fn data_bytes(shape: &[usize], dtype: DType) -> Option<u64> {
    let non_zero_len = shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1usize, |n, &d| n.checked_mul(d))?;
    let bytes = non_zero_len.checked_mul(dtype.size_bytes())?;
    if bytes > isize::MAX as usize {
        return None;
    }
    let empty = shape.contains(&0);
    Some(if empty { 0 } else { bytes as u64 })
}

const MAGIC: &[u8] = b"\x93NUMPY";

/// Whether the header length the file's preamble claims fits in the file. Leaves the
/// file at its start.
///
/// This is the only part of the format read by hand: ndarray-npy allocates a buffer
/// of the claimed length before reading the header into it, so a damaged length
/// field (up to 4 GiB in format versions 2 and 3) would allocate gigabytes for a tiny
/// file. Anything else wrong with the preamble is left to ndarray-npy to report.
fn header_fits(file: &mut File, file_len: u64) -> io::Result<bool> {
    let mut preamble = Vec::with_capacity(12);
    file.by_ref().take(12).read_to_end(&mut preamble)?;
    file.rewind()?;
    let field = |range: std::ops::Range<usize>| preamble.get(range);
    let (prefix_len, header_len) = match (field(0..6), field(6..7)) {
        (Some(MAGIC), Some([1])) => match field(8..10) {
            Some(&[a, b]) => (10, u64::from(u16::from_le_bytes([a, b]))),
            _ => return Ok(true),
        },
        (Some(MAGIC), Some([2 | 3])) => match field(8..12) {
            Some(&[a, b, c, d]) => (12, u64::from(u32::from_le_bytes([a, b, c, d]))),
            _ => return Ok(true),
        },
        _ => return Ok(true),
    };
    Ok(prefix_len + header_len <= file_len)
}

fn not_npy(path: &Path, reason: impl Into<String>) -> NpyError {
    NpyError::NotNpy {
        path: path.to_owned(),
        reason: reason.into(),
    }
}

fn header_error(path: &Path, err: ReadHeaderError) -> NpyError {
    match err {
        ReadHeaderError::Io(err) if err.kind() == io::ErrorKind::UnexpectedEof => {
            not_npy(path, "the header is truncated")
        }
        ReadHeaderError::Io(source) => NpyError::Read {
            path: path.to_owned(),
            source,
        },
        ReadHeaderError::Parse(ParseHeaderError::MagicString) => {
            not_npy(path, "it does not start with the .npy magic string")
        }
        ReadHeaderError::Parse(ParseHeaderError::Version { major, minor }) => {
            not_npy(path, format!("unknown .npy format version {major}.{minor}"))
        }
        ReadHeaderError::Parse(err) => not_npy(path, format!("damaged header: {err}")),
    }
}

fn read_array<T: Element + ReadableElement>(path: &Path, file: File) -> Result<NdArray, NpyError> {
    let array = ArrayD::<T>::read_npy(BufReader::new(file)).map_err(|err| match err {
        ReadNpyError::Io(source) => NpyError::Read {
            path: path.to_owned(),
            source,
        },
        ReadNpyError::ParseData(err) => NpyError::InvalidData {
            path: path.to_owned(),
            reason: err.to_string(),
        },
        // `load_npy` checked the header, the dtype and the data length before reading,
        // so these only happen if the file changed in between.
        ReadNpyError::ParseHeader(err) => not_npy(path, format!("damaged header: {err}")),
        ReadNpyError::WrongDescriptor(descr) => not_npy(path, format!("dtype changed to {descr}")),
        ReadNpyError::LengthOverflow
        | ReadNpyError::WrongNdim(..)
        | ReadNpyError::MissingData
        | ReadNpyError::ExtraBytes(_) => not_npy(path, format!("the file changed: {err}")),
    })?;
    Ok(T::wrap(array))
}

#[cfg(test)]
mod rows_tests {
    use super::*;

    #[test]
    fn rows_written_in_place_by_parts_load_as_the_whole_array() {
        let dir = std::env::temp_dir().join(format!("kern-npy-rows-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("rows.npy");
        let whole = NdArray::from(ArrayD::from_shape_fn(ndarray::IxDyn(&[7, 3]), |i| {
            (i[0] * 3 + i[1]) as f64 * 0.5
        }));
        let file = NpyRows::planned(&path, DType::F64, &[7, 3]).unwrap();
        file.create(&path).unwrap();
        // The parts in any order, as ranks finish.
        let part = |rows: std::ops::Range<usize>| match &whole {
            NdArray::F64(a) => NdArray::from(
                a.slice_axis(ndarray::Axis(0), ndarray::Slice::from(rows))
                    .to_owned(),
            ),
            _ => unreachable!(),
        };
        file.write_block(&path, 0, 4, &part(4..7)).unwrap();
        file.write_block(&path, 0, 0, &part(0..4)).unwrap();
        assert_eq!(load_npy(&path).unwrap(), whole);
        let read = NpyRows::open(&path).unwrap();
        assert!(read.by_rows());
        assert_eq!(read.shape, vec![7, 3]);
        assert_eq!(read.read_block(&path, 0, 2..5).unwrap(), part(2..5));
        assert_eq!(read.read_block(&path, 0, 7..7).unwrap(), part(7..7));

        // Bools are checked; a Fortran-ordered file does not read by rows.
        let flags = NdArray::from(ndarray::arr1(&[true, false, true]).into_dyn());
        save_npy(&path, &flags.view()).unwrap();
        let read = NpyRows::open(&path).unwrap();
        assert_eq!(
            read.read_block(&path, 0, 1..3).unwrap(),
            NdArray::from(ndarray::arr1(&[false, true]).into_dyn())
        );
        let fortran = NdArray::from(
            ndarray::Array2::<f32>::zeros((2, 3))
                .reversed_axes()
                .into_dyn(),
        );
        save_npy(&path, &fortran.view()).unwrap();
        assert!(!NpyRows::open(&path).unwrap().by_rows());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn blocks_along_an_inner_axis_are_written_and_read_in_place() {
        let dir = std::env::temp_dir().join(format!("kern-npy-blocks-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("blocks.npy");
        let whole = ArrayD::from_shape_fn(ndarray::IxDyn(&[3, 7, 2]), |i| {
            (i[0] * 100 + i[1] * 10 + i[2]) as i32
        });
        let part = |axis: usize, range: std::ops::Range<usize>| {
            NdArray::from(
                whole
                    .slice_axis(ndarray::Axis(axis), ndarray::Slice::from(range))
                    .to_owned(),
            )
        };
        let file = NpyRows::planned(&path, DType::I32, &[3, 7, 2]).unwrap();
        file.create(&path).unwrap();
        for range in [5..7, 0..2, 2..5, 5..5] {
            file.write_block(&path, 1, range.start, &part(1, range.clone()))
                .unwrap();
        }
        assert_eq!(load_npy(&path).unwrap(), NdArray::from(whole.clone()));
        let read = NpyRows::open(&path).unwrap();
        for (axis, range) in [(1, 2..6), (2, 1..2), (0, 1..3), (1, 7..7)] {
            assert_eq!(
                read.read_block(&path, axis, range.clone()).unwrap(),
                part(axis, range)
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// Python with NumPy, for tests that check files against NumPy itself.
#[cfg(test)]
pub(crate) mod numpy_interop {
    use std::process::{Command, Output};

    /// Runs `script` with `python3 -c`, passing `args`; `None` (and a note on stderr
    /// saying the test is skipped) when python3 or NumPy is not installed.
    pub(crate) fn run_python(test: &str, script: &str, args: &[&str]) -> Option<Output> {
        let numpy = Command::new("python3")
            .args(["-c", "import numpy"])
            .output();
        if !numpy.is_ok_and(|out| out.status.success()) {
            eprintln!("skipping {test}: `python3 -c \"import numpy\"` fails on this machine");
            return None;
        }
        let output = Command::new("python3")
            .arg("-c")
            .arg(script)
            .args(args)
            .output()
            .expect("python3 ran a moment ago");
        assert!(
            output.status.success(),
            "{test}: the python script failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        Some(output)
    }
}

#[cfg(test)]
mod tests;
