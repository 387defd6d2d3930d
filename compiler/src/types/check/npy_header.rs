//! The element type of an `.npy` file, read from its header when host code is
//! checked (`let a = load("a.npy");` without an annotation). Only the header is
//! read (magic, version, header length, the `descr` entry of the dictionary);
//! the data and the rest of the format are the runtime's.

use std::io::Read;

use crate::types::ScalarType;

/// The element type the `.npy` file at `path` holds, or why it cannot be known.
pub(super) fn npy_dtype(path: &str) -> Result<ScalarType, String> {
    let mut file = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("`{path}` does not exist"),
        _ => format!("cannot open `{path}`: {e}"),
    })?;
    let mut head = [0u8; 12];
    file.read_exact(&mut head[..10])
        .map_err(|_| format!("`{path}` is not an .npy file (too short)"))?;
    if &head[..6] != b"\x93NUMPY" {
        return Err(format!("`{path}` is not an .npy file (no magic string)"));
    }
    let len = match head[6] {
        1 => u16::from_le_bytes([head[8], head[9]]) as usize,
        2 | 3 => {
            file.read_exact(&mut head[10..12])
                .map_err(|_| format!("`{path}` is not an .npy file (too short)"))?;
            u32::from_le_bytes([head[8], head[9], head[10], head[11]]) as usize
        }
        v => {
            return Err(format!(
                "`{path}` has .npy format version {v}, which kern does not read"
            ))
        }
    };
    if len > 1 << 20 {
        return Err(format!("`{path}` has an .npy header of {len} bytes"));
    }
    let mut header = vec![0u8; len];
    file.read_exact(&mut header)
        .map_err(|_| format!("`{path}` is not an .npy file (header cut short)"))?;
    let header = String::from_utf8_lossy(&header);
    let descr =
        descr_of(&header).ok_or_else(|| format!("`{path}` has no 'descr' in its .npy header"))?;
    dtype_of(descr)
        .ok_or_else(|| format!("`{path}` holds dtype '{descr}', which kern arrays do not have"))
}

/// The string value of `'descr'` in the header's dictionary literal.
fn descr_of(header: &str) -> Option<&str> {
    let after = &header[header.find("'descr'")? + "'descr'".len()..];
    let after = after.trim_start().strip_prefix(':')?.trim_start();
    let quote = after.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let body = &after[1..];
    Some(&body[..body.find(quote)?])
}

/// A NumPy type string (`'<f8'`, `'|b1'`) as a kern dtype, any byte order.
fn dtype_of(descr: &str) -> Option<ScalarType> {
    let code = descr.strip_prefix(['<', '>', '|', '=']).unwrap_or(descr);
    Some(match code {
        "b1" => ScalarType::Bool,
        "i1" => ScalarType::I8,
        "i2" => ScalarType::I16,
        "i4" => ScalarType::I32,
        "i8" => ScalarType::I64,
        "u1" => ScalarType::U8,
        "u2" => ScalarType::U16,
        "u4" => ScalarType::U32,
        "u8" => ScalarType::U64,
        "f4" => ScalarType::F32,
        "f8" => ScalarType::F64,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_strings_map_to_dtypes_in_any_byte_order() {
        assert_eq!(dtype_of("<f8"), Some(ScalarType::F64));
        assert_eq!(dtype_of(">i4"), Some(ScalarType::I32));
        assert_eq!(dtype_of("|b1"), Some(ScalarType::Bool));
        assert_eq!(dtype_of("<c16"), None);
        assert_eq!(
            descr_of("{'descr': '<u2', 'fortran_order': False, 'shape': (3,), }"),
            Some("<u2")
        );
    }

    #[test]
    fn the_header_of_a_file_gives_its_dtype() {
        let dir = std::env::temp_dir().join(format!("kern-npy-header-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("a.npy");
        let dict = "{'descr': '<i2', 'fortran_order': False, 'shape': (2,), }";
        let mut header = dict.to_string();
        while !(10 + header.len() + 1).is_multiple_of(64) {
            header.push(' ');
        }
        header.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((header.len() as u16).to_le_bytes());
        bytes.extend(header.as_bytes());
        bytes.extend([1u8, 0, 2, 0]);
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(npy_dtype(path.to_str().unwrap()), Ok(ScalarType::I16));
        std::fs::write(&path, b"not npy").unwrap();
        assert!(npy_dtype(path.to_str().unwrap())
            .unwrap_err()
            .contains("not an .npy file"));
        assert!(npy_dtype(dir.join("missing.npy").to_str().unwrap()).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
