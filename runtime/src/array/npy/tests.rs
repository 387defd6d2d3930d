//! The `.npy` reader and writer against NumPy's own files and behaviour:
//! every dtype and layout round-trips, headers are checked, bad files are errors.

use super::numpy_interop::run_python;
use super::*;
use crate::ScalarValue;
use ndarray::{array, s, Array, ArrayD, IxDyn, ShapeBuilder};
use tempfile::TempDir;

fn tmp() -> TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

/// 24 values of `dtype` from 0 up, with its extremes at both ends.
fn sample(dtype: DType, shape: &[usize]) -> NdArray {
    let len: usize = shape.iter().product();
    let mut values =
        NdArray::F64(Array::from_iter((0..len).map(|i| i as f64 * 3.5 - 7.0)).into_dyn())
            .cast(dtype);
    if len >= 2 {
        let (lo, hi) = extremes(dtype);
        with_array!(NdArray, &mut values, |a: T| {
            let flat = a.as_slice_mut().expect("standard layout");
            flat[0] = T::from_value(lo).unwrap();
            flat[len - 1] = T::from_value(hi).unwrap();
        });
    }
    with_array!(NdArray, values, |a: T| T::wrap(
        a.into_shape_with_order(IxDyn(shape)).unwrap()
    ))
}

fn extremes(dtype: DType) -> (ScalarValue, ScalarValue) {
    macro_rules! min_max {
        ($t:ty) => {
            (<$t>::MIN.to_value(), <$t>::MAX.to_value())
        };
    }
    match dtype {
        DType::Bool => (false.to_value(), true.to_value()),
        DType::I8 => min_max!(i8),
        DType::I16 => min_max!(i16),
        DType::I32 => min_max!(i32),
        DType::I64 => min_max!(i64),
        DType::U8 => min_max!(u8),
        DType::U16 => min_max!(u16),
        DType::U32 => min_max!(u32),
        DType::U64 => min_max!(u64),
        DType::F32 => (f32::NEG_INFINITY.to_value(), f32::NAN.to_value()),
        DType::F64 => (f64::MIN_POSITIVE.to_value(), f64::NAN.to_value()),
        other => panic!("{other} is not an array dtype"),
    }
}

/// Equal values (NaN equal to NaN), dtype and shape.
fn assert_same(actual: &NdArray, expected: &NdArray) {
    assert_eq!(actual.dtype(), expected.dtype());
    assert_eq!(actual.shape(), expected.shape());
    with_array!(NdArray, expected, |e: T| {
        let a = actual.as_array::<T>().unwrap();
        for (index, x) in e.indexed_iter() {
            let y = a[&index];
            let same = x.to_value().same_result(y.to_value());
            assert!(same, "at {index:?}: expected {x:?}, loaded {y:?}");
        }
    });
}

/// An .npy file (format 1.0) with header dictionary `dict` followed by `data`.
fn npy_bytes(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut header = dict.as_bytes().to_vec();
    let total = (MAGIC.len() + 4 + header.len() + 1).next_multiple_of(64);
    header.resize(total - MAGIC.len() - 4 - 1, b' ');
    header.push(b'\n');
    let mut out = MAGIC.to_vec();
    out.extend([1, 0]);
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header);
    out.extend(data);
    out
}

fn load_bytes(bytes: &[u8]) -> Result<NdArray, NpyError> {
    let dir = tmp();
    let path = dir.path().join("case.npy");
    std::fs::write(&path, bytes).unwrap();
    load_npy(&path)
}

#[test]
fn every_dtype_round_trips_through_a_file() {
    let dir = tmp();
    for dtype in super::super::ARRAY_DTYPES {
        for shape in [&[2, 3, 4][..], &[5], &[], &[0, 3]] {
            let array = sample(dtype, shape);
            let path = dir.path().join(format!("{dtype}.npy"));
            save_npy(&path, &array.view()).unwrap();
            assert_same(&load_npy(&path).unwrap(), &array);
        }
    }
}

#[test]
fn a_fortran_order_array_round_trips_with_the_same_value_at_every_index() {
    let dir = tmp();
    let path = dir.path().join("f.npy");
    let values: Vec<i32> = (0..24).collect();
    let fortran = ArrayD::from_shape_vec(IxDyn(&[2, 3, 4]).f(), values).unwrap();
    save_npy(&path, &NdArray::from(fortran.clone()).view()).unwrap();
    let loaded = load_npy(&path).unwrap().into_array::<i32>().unwrap();
    assert_eq!(loaded, fortran);
    assert_eq!(loaded[[1, 2, 3]], 1 + 2 * 2 + 3 * 6);
}

#[test]
fn a_fortran_order_file_is_read_column_by_column() {
    let data: Vec<u8> = (1..=6i16).flat_map(|v| v.to_le_bytes()).collect();
    let dict = "{'descr': '<i2', 'fortran_order': True, 'shape': (2, 3), }";
    let loaded = load_bytes(&npy_bytes(dict, &data)).unwrap();
    let expected = array![[1i16, 3, 5], [2, 4, 6]].into_dyn();
    assert_eq!(loaded.into_array::<i16>().unwrap(), expected);
}

#[test]
fn big_endian_files_are_read() {
    let data: Vec<u8> = [1.5f64, -2.25]
        .iter()
        .flat_map(|v| v.to_be_bytes())
        .collect();
    let dict = "{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }";
    let loaded = load_bytes(&npy_bytes(dict, &data)).unwrap();
    assert_eq!(
        loaded.into_array::<f64>().unwrap(),
        array![1.5, -2.25].into_dyn()
    );

    let data: Vec<u8> = [70000u32, 1].iter().flat_map(|v| v.to_be_bytes()).collect();
    let dict = "{'descr': '>u4', 'fortran_order': False, 'shape': (1, 2), }";
    let loaded = load_bytes(&npy_bytes(dict, &data)).unwrap();
    assert_eq!(
        loaded.into_array::<u32>().unwrap(),
        array![[70000u32, 1]].into_dyn()
    );
}

#[test]
fn a_strided_view_is_saved_as_the_values_it_shows() {
    let dir = tmp();
    let path = dir.path().join("view.npy");
    let a = Array::from_shape_fn((5, 4), |(i, j)| (10 * i + j) as u16);
    let view = a.slice(s![..;2, ..;-1]);
    save_npy(&path, &ArrayRef::U16(view.into_dyn())).unwrap();
    let loaded = load_npy(&path).unwrap().into_array::<u16>().unwrap();
    assert_eq!(
        loaded,
        array![[3u16, 2, 1, 0], [23, 22, 21, 20], [43, 42, 41, 40]].into_dyn()
    );
}

#[test]
fn a_transposed_view_is_saved_as_the_values_it_shows() {
    let dir = tmp();
    let path = dir.path().join("t.npy");
    let a = array![[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]];
    save_npy(&path, &ArrayRef::F32(a.t().into_dyn())).unwrap();
    let loaded = load_npy(&path).unwrap().into_array::<f32>().unwrap();
    assert_eq!(loaded, a.t().into_dyn());
}

#[test]
fn a_missing_file_is_reported_by_its_path() {
    let err = load_npy(Path::new("/nonexistent/dir/weights.npy")).unwrap_err();
    assert!(matches!(err, NpyError::NotFound { .. }));
    assert_eq!(
        err.to_string(),
        "cannot load `/nonexistent/dir/weights.npy`: no such file"
    );
}

#[test]
fn a_directory_cannot_be_read() {
    let dir = tmp();
    let err = load_npy(dir.path()).unwrap_err();
    assert!(matches!(err, NpyError::Read { .. }), "{err}");
    assert!(err.to_string().starts_with("cannot read `"), "{err}");
}

#[test]
fn garbage_is_not_an_npy_file() {
    for bytes in [&b""[..], b"hello, world", b"\x93NUMP", &[0xff; 200]] {
        let err = load_bytes(bytes).unwrap_err();
        assert!(matches!(err, NpyError::NotNpy { .. }), "{bytes:?}: {err}");
    }
    let err = load_bytes(b"PK\x03\x04 an npz file, say").unwrap_err();
    assert!(
        err.to_string()
            .ends_with("not an .npy file: it does not start with the .npy magic string"),
        "{err}"
    );
}

#[test]
fn an_unknown_format_version_is_named() {
    let mut bytes = npy_bytes(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (0,), }",
        &[],
    );
    bytes[6] = 9;
    let err = load_bytes(&bytes).unwrap_err();
    assert!(
        err.to_string().ends_with("unknown .npy format version 9.0"),
        "{err}"
    );
}

#[test]
fn a_truncated_header_is_not_an_npy_file() {
    let bytes = npy_bytes(
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }",
        &[0; 16],
    );
    for len in [7, 9, 30, 63] {
        let err = load_bytes(&bytes[..len]).unwrap_err();
        assert!(
            err.to_string().ends_with("the header is truncated"),
            "{len}: {err}"
        );
    }
}

#[test]
fn a_header_length_past_the_end_of_the_file_is_rejected_before_allocating() {
    // Format 2.0 with a 4 GiB header length and nothing after it.
    let bytes = b"\x93NUMPY\x02\x00\xff\xff\xff\xff{'descr'";
    let err = load_bytes(bytes).unwrap_err();
    assert!(
        err.to_string().ends_with("the header is truncated"),
        "{err}"
    );
}

#[test]
fn a_damaged_header_dictionary_is_not_an_npy_file() {
    for dict in [
        "{'descr': '<f8', 'fortran_order': False, 'shape': (2,)",
        "{'descr': '<f8', 'fortran_order': 'yes', 'shape': (2,), }",
        "{'descr': '<f8', 'shape': (2,), }",
        "{'descr': '<f8', 'fortran_order': False, 'shape': (-2,), }",
        "[1, 2, 3]",
    ] {
        let err = load_bytes(&npy_bytes(dict, &[0; 16])).unwrap_err();
        assert!(
            err.to_string().contains("not an .npy file: damaged header"),
            "{dict}: {err}"
        );
    }
}

#[test]
fn a_header_claiming_more_data_than_present_is_a_size_mismatch() {
    // (shape in the header, bytes present, bytes the header claims): terabytes
    // are rejected before allocating anything.
    for (shape, present, claimed) in [
        ("(2, 3)", 40, 48),
        ("(1000000, 1000000)", 8, 8_000_000_000_000),
    ] {
        let dict = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
        let err = load_bytes(&npy_bytes(&dict, &vec![0; present])).unwrap_err();
        assert!(
            matches!(err, NpyError::SizeMismatch { expected, actual, .. }
                    if expected == claimed && actual == present as u64),
            "{shape}: {err}"
        );
    }
    let dict = "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }";
    let err = load_bytes(&npy_bytes(dict, &[0; 40])).unwrap_err();
    assert!(
        err.to_string().ends_with(
            "the header describes an array of shape (2, 3) and dtype '<f8' \
                 (48 bytes of data), but the file holds 40 bytes of data"
        ),
        "{err}"
    );
}

#[test]
fn a_shape_memory_cannot_address_is_too_large() {
    let dict = "{'descr': '<i4', 'fortran_order': False, 'shape': (0, 9223372036854775807), }";
    let err = load_bytes(&npy_bytes(dict, &[])).unwrap_err();
    assert!(matches!(err, NpyError::TooLarge { .. }), "{err}");
    assert!(err
        .to_string()
        .contains("shape (0, 9223372036854775807) is too large"));
}

#[test]
fn bytes_after_the_data_are_a_size_mismatch() {
    let dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }";
    let err = load_bytes(&npy_bytes(dict, &[1, 2, 3, 4])).unwrap_err();
    assert!(matches!(
        err,
        NpyError::SizeMismatch {
            expected: 3,
            actual: 4,
            ..
        }
    ));
}

#[test]
fn a_bool_byte_other_than_0_or_1_is_invalid_data() {
    let dict = "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }";
    let err = load_bytes(&npy_bytes(dict, &[1, 0, 7])).unwrap_err();
    assert!(matches!(err, NpyError::InvalidData { .. }), "{err}");
}

#[test]
fn unsupported_dtypes_are_named_with_their_descriptor() {
    for (descr, itemsize, message) in [
        (
            "'<c16'",
            16,
            "its dtype '<c16' (complex numbers) is not supported",
        ),
        (
            "'<U5'",
            20,
            "its dtype '<U5' (unicode strings) is not supported",
        ),
        (
            "'|S3'",
            3,
            "its dtype '|S3' (byte strings) is not supported",
        ),
        (
            "'|O'",
            8,
            "its dtype '|O' (Python objects) is not supported",
        ),
        (
            "'<f2'",
            2,
            "its dtype '<f2' (16-bit floats) is not supported",
        ),
        (
            "'<i16'",
            16,
            "its dtype '<i16' (numbers of an unsupported width)",
        ),
        ("'<f16'", 16, "its dtype '<f16' (extended-precision floats)"),
        ("'<f8xyz'", 8, "its dtype '<f8xyz' (of an unknown type)"),
        (
            "'<M8[ns]'",
            8,
            "its dtype '<M8[ns]' (datetimes) is not supported",
        ),
        (
            "'=f8'",
            8,
            "its dtype '=f8' (marked with a byte order kern does not read)",
        ),
        (
            "[('x', '<i4'), ('y', '<f8')]",
            12,
            "its dtype [('x', '<i4'), ('y', '<f8')] (structured records) is not supported",
        ),
    ] {
        let dict = format!("{{'descr': {descr}, 'fortran_order': False, 'shape': (2,), }}");
        let err = load_bytes(&npy_bytes(&dict, &vec![0; 2 * itemsize])).unwrap_err();
        assert!(
            matches!(err, NpyError::UnsupportedDtype { .. }),
            "{descr}: {err}"
        );
        assert!(err.to_string().contains(message), "{descr}: {err}");
    }
}

/// One limit on dimensions for every array: a file with more than kern's
/// `MAX_ARRAY_DIMS` is refused by name, not loaded.
#[test]
fn a_file_with_more_dimensions_than_an_array_has_is_refused() {
    let max = kern_compiler::types::MAX_ARRAY_DIMS;
    let shape = |dims: usize| "1, ".repeat(dims);
    let dict = format!(
        "{{'descr': '|u1', 'fortran_order': False, 'shape': ({}), }}",
        shape(max)
    );
    let loaded = load_bytes(&npy_bytes(&dict, &[7])).unwrap();
    assert_eq!(loaded.shape().len(), max);
    for dims in [max + 1, 5000] {
        let dict = format!(
            "{{'descr': '|u1', 'fortran_order': False, 'shape': ({}), }}",
            shape(dims)
        );
        let err = load_bytes(&npy_bytes(&dict, &[7])).unwrap_err();
        assert!(
            err.to_string().contains(&format!(
                "its array has {dims} dimensions; kern arrays have at most {max}"
            )),
            "{err}"
        );
    }
}

#[test]
fn every_truncation_of_a_valid_file_is_an_error_not_a_panic() {
    let dir = tmp();
    let path = dir.path().join("full.npy");
    save_npy(&path, &sample(DType::I32, &[3, 4]).view()).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    for len in 0..bytes.len() {
        assert!(
            load_bytes(&bytes[..len]).is_err(),
            "{len} of {} bytes",
            bytes.len()
        );
    }
}

#[test]
fn saving_into_a_missing_directory_names_the_path() {
    let array = NdArray::zeros(DType::F64, &[2]).unwrap();
    let err = save_npy(Path::new("/nonexistent/dir/out.npy"), &array.view()).unwrap_err();
    assert!(matches!(err, NpyError::Write { .. }));
    assert!(
        err.to_string()
            .starts_with("cannot save `/nonexistent/dir/out.npy`: "),
        "{err}"
    );
}

/// The dtypes as NumPy names them, with the kern dtype each loads as.
const NUMPY_DTYPES: [(&str, DType); 11] = [
    ("bool", DType::Bool),
    ("int8", DType::I8),
    ("int16", DType::I16),
    ("int32", DType::I32),
    ("int64", DType::I64),
    ("uint8", DType::U8),
    ("uint16", DType::U16),
    ("uint32", DType::U32),
    ("uint64", DType::U64),
    ("float32", DType::F32),
    ("float64", DType::F64),
];

/// The array the interop scripts build for `dtype`: `arange(24) * 5 // 2`, or
/// `arange(24) % 3 == 0` for bool, or `arange(24) * 0.75 - 4` for floats, in shape
/// (2, 3, 4).
fn interop_values(dtype: DType) -> NdArray {
    let shape = IxDyn(&[2, 3, 4]);
    match dtype {
        DType::Bool => NdArray::from(ArrayD::from_shape_fn(shape, |i| {
            (i[0] * 12 + i[1] * 4 + i[2]) % 3 == 0
        })),
        DType::F32 | DType::F64 => NdArray::from(ArrayD::from_shape_fn(shape, |i| {
            (i[0] * 12 + i[1] * 4 + i[2]) as f64 * 0.75 - 4.0
        }))
        .cast(dtype),
        _ => NdArray::from(ArrayD::from_shape_fn(shape, |i| {
            ((i[0] * 12 + i[1] * 4 + i[2]) * 5 / 2) as u64
        }))
        .cast(dtype),
    }
}

const INTEROP_VALUES_PY: &str = r#"
import numpy as np
def values(name):
    i = np.arange(24).reshape(2, 3, 4)
    if name == "bool":
        return i % 3 == 0
    if name.startswith("float"):
        return (i * 0.75 - 4).astype(name)
    return (i * 5 // 2).astype(name)
"#;

/// Runs `body` in Python once per NumPy dtype name, with `a = values(name)`
/// and `out` the directory `dir` (`None` where NumPy is missing).
fn run_python_per_dtype(test: &str, dir: &TempDir, body: &str) -> Option<std::process::Output> {
    let script = format!(
        "{INTEROP_VALUES_PY}{}{body}",
        r#"
import sys
out = sys.argv[1]
for name in sys.argv[2:]:
    a = values(name)
"#
    );
    let mut args = vec![dir.path().to_str().unwrap()];
    args.extend(NUMPY_DTYPES.map(|(name, _)| name));
    run_python(test, &script, &args)
}

#[test]
fn files_numpy_writes_load_with_their_dtype_and_values() {
    let dir = tmp();
    let script = r#"    np.save(f"{out}/{name}_c.npy", a)
    np.save(f"{out}/{name}_f.npy", np.asfortranarray(a))
    np.save(f"{out}/{name}_be.npy", a.astype(a.dtype.newbyteorder(">")))
    np.save(f"{out}/{name}_0d.npy", a[1, 2, 3])
    np.save(f"{out}/{name}_empty.npy", a[:, :0])
"#;
    let Some(_) = run_python_per_dtype("files_numpy_writes_load", &dir, script) else {
        return;
    };
    for (name, dtype) in NUMPY_DTYPES {
        let expected = interop_values(dtype);
        for order in ["c", "f", "be"] {
            let path = dir.path().join(format!("{name}_{order}.npy"));
            assert_same(&load_npy(&path).unwrap(), &expected);
        }
        let zero_d = load_npy(&dir.path().join(format!("{name}_0d.npy"))).unwrap();
        assert_eq!(zero_d.shape(), &[] as &[usize]);
        assert_eq!(zero_d.get(&[]), expected.get(&[1, 2, 3]));
        let empty = load_npy(&dir.path().join(format!("{name}_empty.npy"))).unwrap();
        assert_eq!((empty.dtype(), empty.shape()), (dtype, &[2, 0, 4][..]));
    }
}

#[test]
fn files_saved_here_load_in_numpy_with_their_dtype_and_values() {
    let dir = tmp();
    for (name, dtype) in NUMPY_DTYPES {
        let values = interop_values(dtype);
        let c_path = dir.path().join(format!("{name}_c.npy"));
        save_npy(&c_path, &values.view()).unwrap();
        with_array!(NdArray, &values, |a: T| {
            let mut fortran = ArrayD::<T>::from_elem(IxDyn(&[2, 3, 4]).f(), a[[0, 0, 0]]);
            fortran.assign(a);
            let f_path = dir.path().join(format!("{name}_f.npy"));
            save_npy(&f_path, &T::wrap_view(fortran.view()).into_array_ref()).unwrap();
            let reversed = a.slice(s![.., ..;-2, ..]);
            let r_path = dir.path().join(format!("{name}_strided.npy"));
            save_npy(&r_path, &T::wrap_view(reversed.into_dyn()).into_array_ref()).unwrap();
        });
    }
    let script = r#"    for kind, expected in [("c", a), ("f", a), ("strided", a[:, ::-2, :])]:
        b = np.load(f"{out}/{name}_{kind}.npy")
        assert b.dtype == np.dtype(name), (name, kind, b.dtype)
        assert np.array_equal(b, expected), (name, kind, b, expected)
    assert np.load(f"{out}/{name}_f.npy").flags.f_contiguous
    print(name)
"#;
    let Some(output) = run_python_per_dtype("files_saved_here_load_in_numpy", &dir, script) else {
        return;
    };
    let checked = String::from_utf8(output.stdout).unwrap();
    assert_eq!(checked.lines().count(), NUMPY_DTYPES.len(), "{checked}");
}
