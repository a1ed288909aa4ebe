//! Network parameters in `.safetensors` files: [`ParamFile`] memory-maps a
//! file and hands out named f32 tensors checked against the shapes the IR
//! declares; [`save`] and [`save_lazy`] write one.

use std::{
    borrow::Cow,
    collections::HashMap,
    fs::File,
    path::{Path, PathBuf},
};

use memmap2::Mmap;
use safetensors::{Dtype, View, tensor::Metadata};
use thiserror::Error;

use crate::interpreter::{ParamSource, Tensor, tensor::format_shape};

/// What can go wrong with a parameter file.
#[derive(Debug, Error)]
pub enum ParamError {
    /// The file cannot be opened, mapped or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The system's reason.
        source: std::io::Error,
    },
    /// The file is not a valid safetensors file.
    #[error("{path}: not a valid safetensors file: {message}")]
    Format {
        /// The file.
        path: PathBuf,
        /// The parser's reason.
        message: String,
    },
    /// The IR names a parameter that the file does not hold.
    #[error("parameter '{name}' is missing from {path}")]
    Missing {
        /// The parameter name.
        name: String,
        /// The file.
        path: PathBuf,
    },
    /// The file's tensor has another shape than the IR's `df.param`.
    #[error(
        "parameter '{name}' has shape {found} in {path}, but the IR's df.param declares {expected}"
    )]
    ShapeMismatch {
        /// The parameter name.
        name: String,
        /// The file.
        path: PathBuf,
        /// The shape the IR declares.
        expected: String,
        /// The shape in the file.
        found: String,
    },
    /// The file's tensor is not f32.
    #[error("parameter '{name}' in {path} has element type {dtype}, expected F32")]
    Dtype {
        /// The parameter name.
        name: String,
        /// The file.
        path: PathBuf,
        /// The element type in the file.
        dtype: String,
    },
}

/// A memory-mapped `.safetensors` file. Tensors are copied out one at a time
/// on request, so a network's weights are never all resident twice.
pub struct ParamFile {
    path: PathBuf,
    map: Mmap,
    /// Where the tensor data starts: after the 8-byte length and the header.
    data_start: usize,
    metadata: Metadata,
}

impl std::fmt::Debug for ParamFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParamFile")
            .field("path", &self.path)
            .field("tensors", &self.metadata.tensors().len())
            .finish()
    }
}

impl ParamFile {
    /// Maps `path` and reads its header.
    pub fn open(path: &Path) -> Result<Self, ParamError> {
        let io = |source| ParamError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        // SAFETY: the map is read-only and private to this value; a file
        // truncated underneath would fault, as with any mapped file. The
        // writers here replace files by renaming, never in place.
        let map = unsafe { Mmap::map(&file) }.map_err(io)?;
        let (header, metadata) =
            safetensors::SafeTensors::read_metadata(&map).map_err(|e| ParamError::Format {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        Ok(Self {
            path: path.to_path_buf(),
            map,
            data_start: 8 + header,
            metadata,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The names of the tensors in the file, sorted.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.metadata.tensors().into_keys().collect();
        names.sort();
        names
    }

    /// The shape of tensor `name`, if the file holds it.
    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        self.metadata.info(name).map(|info| info.shape.as_slice())
    }

    /// Tensor `name`, which must have `shape`.
    pub fn load(&self, name: &str, shape: &[usize]) -> Result<Tensor, ParamError> {
        let info = self
            .metadata
            .info(name)
            .ok_or_else(|| ParamError::Missing {
                name: name.into(),
                path: self.path.clone(),
            })?;
        if info.dtype != Dtype::F32 {
            return Err(ParamError::Dtype {
                name: name.into(),
                path: self.path.clone(),
                dtype: info.dtype.to_string(),
            });
        }
        if info.shape != shape {
            return Err(ParamError::ShapeMismatch {
                name: name.into(),
                path: self.path.clone(),
                expected: format_shape(shape),
                found: format_shape(&info.shape),
            });
        }
        // read_metadata validated that the offsets lie inside the file and
        // match the shape.
        let (begin, end) = info.data_offsets;
        let bytes = &self.map[self.data_start + begin..self.data_start + end];
        let data = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        Tensor::new(shape.to_vec(), data).map_err(|message| ParamError::Format {
            path: self.path.clone(),
            message,
        })
    }

    /// Every tensor of the file, by name.
    pub fn load_all(&self) -> Result<HashMap<String, Tensor>, ParamError> {
        self.names()
            .into_iter()
            .map(|name| {
                let shape = self.shape(&name).unwrap_or_default().to_vec();
                let tensor = self.load(&name, &shape)?;
                Ok((name, tensor))
            })
            .collect()
    }
}

impl ParamSource for ParamFile {
    fn param(&self, name: &str, shape: &[usize]) -> Result<Tensor, String> {
        self.load(name, shape).map_err(|e| e.to_string())
    }
}

/// A tensor that `save` writes: its shape, and the little-endian bytes of
/// its data, produced when the writer reaches it.
struct Entry<F> {
    shape: Vec<usize>,
    produce: F,
}

impl<F: Fn() -> Vec<f32>> View for Entry<F> {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        let data = (self.produce)();
        Cow::Owned(data.iter().flat_map(|x| x.to_le_bytes()).collect())
    }

    fn data_len(&self) -> usize {
        self.shape.iter().product::<usize>() * 4
    }
}

fn write<F: Fn() -> Vec<f32>>(
    path: &Path,
    entries: Vec<(String, Entry<F>)>,
    metadata: Option<HashMap<String, String>>,
) -> Result<(), ParamError> {
    safetensors::serialize_to_file(entries, metadata, path).map_err(|e| match e {
        safetensors::SafeTensorError::IoError(source) => ParamError::Io {
            path: path.to_path_buf(),
            source,
        },
        other => ParamError::Format {
            path: path.to_path_buf(),
            message: other.to_string(),
        },
    })
}

/// Writes named tensors to `path`.
pub fn save<'t>(
    path: &Path,
    tensors: impl IntoIterator<Item = (&'t str, &'t Tensor)>,
) -> Result<(), ParamError> {
    let entries = tensors
        .into_iter()
        .map(|(name, tensor)| {
            let entry = Entry {
                shape: tensor.shape().to_vec(),
                produce: move || tensor.data().to_vec(),
            };
            (name.to_string(), entry)
        })
        .collect();
    write(path, entries, None)
}

/// Writes tensors whose data is computed only when the writer reaches them:
/// `(name, shape, produce)`, where `produce()` returns the row-major data.
/// Memory then holds one tensor at a time (VGG-16's weights are 553 MB).
/// `metadata` goes into the file's `__metadata__`.
pub fn save_lazy<F: Fn() -> Vec<f32>>(
    path: &Path,
    tensors: Vec<(String, Vec<usize>, F)>,
    metadata: HashMap<String, String>,
) -> Result<(), ParamError> {
    let entries = tensors
        .into_iter()
        .map(|(name, shape, produce)| (name, Entry { shape, produce }))
        .collect();
    write(path, entries, Some(metadata))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("round_trip.safetensors");
        let weight = Tensor::from_fn(vec![2, 3], |i| i as f32 - 2.5);
        let bias = Tensor::from_fn(vec![2], |i| i as f32);
        save(&path, [("fc.weight", &weight), ("fc.bias", &bias)]).unwrap();

        let file = ParamFile::open(&path).unwrap();
        assert_eq!(file.names(), vec!["fc.bias", "fc.weight"]);
        assert_eq!(file.load("fc.weight", &[2, 3]).unwrap(), weight);
        assert_eq!(file.param("fc.bias", &[2]).unwrap(), bias);

        let missing = file.load("fc.scale", &[2]).unwrap_err().to_string();
        assert_eq!(
            missing,
            format!("parameter 'fc.scale' is missing from {}", path.display())
        );
        let mismatch = file.load("fc.weight", &[3, 2]).unwrap_err().to_string();
        assert_eq!(
            mismatch,
            format!(
                "parameter 'fc.weight' has shape [2, 3] in {}, but the IR's df.param declares [3, 2]",
                path.display()
            )
        );
    }

    #[test]
    fn lazy_writer_and_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lazy.safetensors");
        let tensors = vec![("a".to_string(), vec![4], || vec![1.0, 2.0, 3.0, 4.0])];
        let metadata = HashMap::from([("generator".to_string(), "test".to_string())]);
        save_lazy(&path, tensors, metadata).unwrap();
        let loaded = ParamFile::open(&path).unwrap().load_all().unwrap();
        assert_eq!(loaded["a"].data(), &[1.0, 2.0, 3.0, 4.0]);
    }

    #[test]
    fn garbage_is_a_format_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("garbage.safetensors");
        std::fs::write(&path, b"not a tensor file").unwrap();
        let error = ParamFile::open(&path).unwrap_err().to_string();
        assert!(error.contains("not a valid safetensors file"), "{error}");
        std::fs::remove_file(&path).unwrap();
        let error = ParamFile::open(&path).unwrap_err().to_string();
        assert!(error.starts_with(&path.display().to_string()), "{error}");
    }
}
