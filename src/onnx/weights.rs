//! Writes the imported parameters as a `.safetensors` file. The float32
//! data goes to the writer as its little-endian bytes, borrowed, never
//! converted element by element (VGG-16 has 138 M of them).

use std::{borrow::Cow, collections::HashMap, path::Path};

use safetensors::{Dtype, View};

use super::{Param, error::ImportError};

/// A parameter as the safetensors writer sees it.
struct Entry<'a>(&'a Param);

impl View for Entry<'_> {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }

    fn shape(&self) -> &[usize] {
        &self.0.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        if cfg!(target_endian = "little") {
            Cow::Borrowed(bytemuck::cast_slice(&self.0.data))
        } else {
            Cow::Owned(self.0.data.iter().flat_map(|v| v.to_le_bytes()).collect())
        }
    }

    fn data_len(&self) -> usize {
        self.0.data.len() * 4
    }
}

/// Writes `params` to `path`, with `metadata` in the file's `__metadata__`.
pub fn write(
    path: &Path,
    params: &[Param],
    metadata: HashMap<String, String>,
) -> Result<(), ImportError> {
    let entries = params.iter().map(|p| (p.name.as_str(), Entry(p)));
    safetensors::serialize_to_file(entries, Some(metadata), path).map_err(|e| ImportError::Write {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}
