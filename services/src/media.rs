//! Uploaded product images: checked by their content (JPEG, PNG or WebP, whatever the
//! file is called), refused past a size and a pixel count before any pixel is decoded (no
//! decompression bombs), turned upright by their EXIF orientation, then re-encoded at a
//! few widths, which leaves every piece of metadata (location, camera) behind. The files
//! go to a [`MediaStore`]: a folder on local disk by default (`MEDIA_DIR`), or an
//! S3-compatible bucket, both through `object_store`, behind the shared timeout and
//! circuit breaker.

use crate::resilience::{Guard, GuardSettings, OutsideError};
use bytes::Bytes;
use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, PutPayload};
use std::io::Cursor;
use std::sync::Arc;

/// The largest upload, in bytes.
pub const MAX_BYTES: usize = 20 * 1024 * 1024;
/// The most pixels an upload may have (width x height).
pub const MAX_PIXELS: u64 = 40_000_000;
/// The longest side an upload may have.
pub const MAX_SIDE: u32 = 12_000;
/// The most memory one decoded picture may take (40 million 16-bit RGBA pixels fit).
const MAX_DECODE_BYTES: u64 = MAX_PIXELS * 8 + 16 * 1024 * 1024;
/// Pictures decoded at once in this process (each may take hundreds of MB).
static DECODING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// [`prepare`] on a blocking thread, at most two at once in the process.
pub async fn prepare_off_runtime(bytes: Vec<u8>) -> Result<Prepared, MediaError> {
    let _turn = DECODING
        .acquire()
        .await
        .map_err(|_| MediaError::Unreadable)?;
    tokio::task::spawn_blocking(move || prepare(&bytes))
        .await
        .map_err(|_| MediaError::Unreadable)?
}

/// The widths an image is kept at (never wider than it came).
pub const WIDTHS: [u32; 3] = [320, 640, 1280];

/// Why an upload was refused (each a 4xx with its sentence) or could not be kept.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("The file is larger than {} MB.", MAX_BYTES / 1024 / 1024)]
    TooBig,
    #[error("That file is not a JPEG, PNG or WebP image.")]
    NotAnImage,
    #[error("The image is {width} x {height} pixels; the most is {} million pixels, at most {MAX_SIDE} on a side.", MAX_PIXELS / 1_000_000)]
    TooManyPixels { width: u32, height: u32 },
    #[error("The image is larger than {} million pixels.", MAX_PIXELS / 1_000_000)]
    Oversized,
    #[error("The image could not be read: the file is damaged or incomplete.")]
    Unreadable,
    #[error("The image store is unavailable. Please try again in a moment.")]
    Store(#[from] OutsideError),
}

/// An upload made ready to keep: JPEG files at each width, and its size upright.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub format: ImageFormat,
    pub width: u32,
    pub height: u32,
    /// (width, JPEG bytes), narrowest first.
    pub files: Vec<(u32, Vec<u8>)>,
}

/// Reads an upload and makes its files. CPU-bound: call it off the async runtime.
pub fn prepare(bytes: &[u8]) -> Result<Prepared, MediaError> {
    if bytes.len() > MAX_BYTES {
        return Err(MediaError::TooBig);
    }
    let format = match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)) => f,
        _ => return Err(MediaError::NotAnImage),
    };
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    // Bounds what a decoder allocates on its own; the decoded picture itself is
    // reserved against it below, from the size its header gives, before decoding.
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODE_BYTES);
    reader.limits(limits.clone());
    let mut decoder = reader.into_decoder().map_err(|e| refusal(e, None))?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_PIXELS || width > MAX_SIDE || height > MAX_SIDE {
        return Err(MediaError::TooManyPixels { width, height });
    }
    limits
        .reserve(decoder.total_bytes())
        .map_err(|_| MediaError::TooManyPixels { width, height })?;
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let picture =
        DynamicImage::from_decoder(decoder).map_err(|e| refusal(e, Some((width, height))))?;
    // No alpha in a JPEG: transparent parts become white, as they show on the page. Made
    // 8-bit RGB first (the decoded picture then dropped), so turning it holds one copy.
    let mut rgb = flatten(&picture);
    drop(picture);
    rgb.apply_orientation(orientation);
    let (width, height) = (rgb.width(), rgb.height());
    let largest = WIDTHS[WIDTHS.len() - 1];
    let mut files = Vec::new();
    for target in WIDTHS.iter().copied().filter(|w| *w < width.min(largest)) {
        files.push((
            target,
            jpeg(&rgb.resize(target, u32::MAX, FilterType::Triangle))?,
        ));
    }
    let top = if width > largest {
        rgb.resize(largest, u32::MAX, FilterType::Triangle)
    } else {
        rgb
    };
    files.push((top.width(), jpeg(&top)?));
    Ok(Prepared {
        format,
        width,
        height,
        files,
    })
}

fn refusal(e: image::ImageError, size: Option<(u32, u32)>) -> MediaError {
    match (e, size) {
        (image::ImageError::Limits(_), Some((width, height))) => {
            MediaError::TooManyPixels { width, height }
        }
        (image::ImageError::Limits(_), None) => MediaError::Oversized,
        _ => MediaError::Unreadable,
    }
}

fn flatten(picture: &DynamicImage) -> DynamicImage {
    if !picture.color().has_alpha() {
        return DynamicImage::ImageRgb8(picture.to_rgb8());
    }
    let rgba = picture.to_rgba8();
    let mut rgb = image::RgbImage::new(rgba.width(), rgba.height());
    for (out, px) in rgb.pixels_mut().zip(rgba.pixels()) {
        let a = u16::from(px[3]);
        for c in 0..3 {
            out[c] = ((u16::from(px[c]) * a + 255 * (255 - a)) / 255) as u8;
        }
    }
    DynamicImage::ImageRgb8(rgb)
}

fn jpeg(picture: &DynamicImage) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 84);
    picture
        .write_with_encoder(encoder)
        .map_err(|_| MediaError::Unreadable)?;
    Ok(out)
}

/// Where uploaded files are kept: local disk or an S3-compatible bucket.
#[derive(Clone)]
pub struct MediaStore {
    store: Arc<dyn ObjectStore>,
    guard: Guard<()>,
    fetch: Guard<Bytes>,
    /// "disk" or "s3", for logs and the README.
    pub kind: &'static str,
}

/// How to reach an S3-compatible bucket.
#[derive(Clone)]
pub struct S3Settings {
    pub bucket: String,
    pub region: String,
    /// A local or other S3-compatible server (`http://127.0.0.1:5055`); empty for AWS.
    pub endpoint: String,
    pub access_key: String,
    pub secret_key: String,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("access_key", &"(set)")
            .field("secret_key", &"(hidden)")
            .finish()
    }
}

fn unavailable(system: &'static str) -> impl Fn(object_store::Error) -> OutsideError {
    move |e| OutsideError::Unavailable {
        system,
        reason: e.to_string(),
    }
}

impl MediaStore {
    /// Files under `dir` on local disk (made if missing).
    pub fn disk(dir: &std::path::Path, guard: &GuardSettings) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let store = object_store::local::LocalFileSystem::new_with_prefix(dir)
            .map_err(std::io::Error::other)?;
        Ok(Self::with(Arc::new(store), "disk", guard))
    }

    /// Files in an S3-compatible bucket.
    pub fn s3(settings: &S3Settings, guard: &GuardSettings) -> Result<Self, String> {
        // From the environment first (an instance role, web identity, `AWS_*`), then
        // the keys given here, if any.
        let mut builder = object_store::aws::AmazonS3Builder::from_env()
            .with_bucket_name(&settings.bucket)
            .with_region(&settings.region)
            .with_client_options(
                object_store::ClientOptions::new()
                    .with_timeout(guard.timeout)
                    .with_connect_timeout(guard.timeout),
            )
            .with_retry(object_store::RetryConfig {
                max_retries: 1,
                retry_timeout: guard.timeout,
                ..Default::default()
            });
        if !settings.access_key.is_empty() {
            builder = builder
                .with_access_key_id(&settings.access_key)
                .with_secret_access_key(&settings.secret_key);
        }
        if !settings.endpoint.is_empty() {
            builder = builder
                .with_endpoint(&settings.endpoint)
                .with_allow_http(settings.endpoint.starts_with("http://"))
                .with_virtual_hosted_style_request(false);
        }
        let store = builder.build().map_err(|e| e.to_string())?;
        Ok(Self::with(Arc::new(store), "s3", guard))
    }

    fn with(store: Arc<dyn ObjectStore>, kind: &'static str, guard: &GuardSettings) -> Self {
        Self {
            store,
            guard: Guard::new("media store", guard),
            fetch: Guard::new("media store", guard),
            kind,
        }
    }

    pub async fn put(&self, key: &str, bytes: Vec<u8>) -> Result<(), OutsideError> {
        let (store, path) = (self.store.clone(), StorePath::from(key));
        self.guard
            .call(async move {
                store
                    .put(&path, PutPayload::from(bytes))
                    .await
                    .map(|_| ())
                    .map_err(unavailable("media store"))
            })
            .await
    }

    /// The file at `key`; `Ok(None)` when there is none.
    pub async fn get(&self, key: &str) -> Result<Option<Bytes>, OutsideError> {
        let (store, path) = (self.store.clone(), StorePath::from(key));
        let found = self
            .fetch
            .call(async move {
                match store.get(&path).await {
                    Ok(file) => file.bytes().await.map_err(unavailable("media store")),
                    Err(object_store::Error::NotFound { .. }) => Ok(Bytes::new()),
                    Err(e) => Err(unavailable("media store")(e)),
                }
            })
            .await?;
        Ok((!found.is_empty()).then_some(found))
    }

    /// Removes stored files, best effort (logged): an orphan file costs disk, nothing else.
    pub async fn forget(&self, keys: &[String]) {
        for key in keys {
            if let Err(e) = self.delete(key).await {
                tracing::warn!(error = %e, key, "an image file could not be removed");
            }
        }
    }

    /// Removes the file at `key` (gone already is fine).
    pub async fn delete(&self, key: &str) -> Result<(), OutsideError> {
        let (store, path) = (self.store.clone(), StorePath::from(key));
        self.guard
            .call(async move {
                match store.delete(&path).await {
                    Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                    Err(e) => Err(unavailable("media store")(e)),
                }
            })
            .await
    }
}

/// The file name of an image's file at `width`, under its key.
pub fn file_key(key: &str, width: u32) -> String {
    format!("{key}/{width}.jpg")
}

/// The address an image's file at `width` is served at.
pub fn file_url(key: &str, width: u32) -> String {
    format!("/media/uploads/{}", file_key(key, width))
}

/// Whether `key` can be one of ours (`products/12/0a1b…/640.jpg`): nothing that could
/// leave the store's folder.
pub fn valid_file_key(key: &str) -> bool {
    key.len() <= 200
        && key.starts_with("products/")
        && key.ends_with(".jpg")
        && key.split('/').all(|part| {
            !part.is_empty()
                && part != "."
                && part != ".."
                && part
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::ImageEncoder;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let pixels = vec![200u8; (width * height * 3) as usize];
        image::codecs::png::PngEncoder::new(&mut out)
            .write_image(&pixels, width, height, image::ExtendedColorType::Rgb8)
            .expect("png");
        out
    }

    #[test]
    fn a_png_is_read_as_png_and_kept_at_its_widths() {
        let p = prepare(&png(700, 350)).expect("prepared");
        assert_eq!(p.format, ImageFormat::Png);
        let widths: Vec<u32> = p.files.iter().map(|(w, _)| *w).collect();
        assert_eq!(widths, [320, 640, 700]);
        for (w, bytes) in &p.files {
            let back = image::load_from_memory(bytes).expect("jpeg");
            assert_eq!(back.width(), *w);
            assert_eq!(image::guess_format(bytes).ok(), Some(ImageFormat::Jpeg));
        }
    }

    #[test]
    fn exif_orientation_is_applied_and_the_metadata_left_behind() {
        // A 30 x 10 JPEG whose EXIF says "rotate 90° clockwise" (orientation 6), with a
        // camera make in it.
        let mut exif =
            b"II\x2a\x00\x08\x00\x00\x00\x02\x00\x12\x01\x03\x00\x01\x00\x00\x00\x06\x00\x00\x00"
                .to_vec();
        exif.extend_from_slice(
            b"\x0f\x01\x02\x00\x06\x00\x00\x00\x26\x00\x00\x00\x00\x00\x00\x00Canon\x00",
        );
        let mut jpeg = Vec::new();
        let mut encoder = image::codecs::jpeg::JpegEncoder::new(&mut jpeg);
        encoder.set_exif_metadata(exif).expect("exif");
        encoder
            .write_image(&[90u8; 30 * 10 * 3], 30, 10, image::ExtendedColorType::Rgb8)
            .expect("jpeg");
        assert!(jpeg.windows(5).any(|w| w == b"Canon"));
        let p = prepare(&jpeg).expect("prepared");
        assert_eq!((p.width, p.height), (10, 30), "turned upright");
        let (_, kept) = &p.files[0];
        assert!(
            !kept.windows(4).any(|w| w == b"Exif"),
            "metadata left behind"
        );
        assert!(!kept.windows(5).any(|w| w == b"Canon"));
    }

    #[test]
    fn bombs_giants_and_other_files_are_refused_before_decoding() {
        assert!(matches!(
            prepare(b"hello, not an image"),
            Err(MediaError::NotAnImage)
        ));
        assert!(matches!(
            prepare(&vec![0u8; MAX_BYTES + 1]),
            Err(MediaError::TooBig)
        ));
        assert!(matches!(
            prepare(&png(10, 10)[..40]),
            Err(MediaError::Unreadable)
        ));
        assert!(valid_file_key("products/12/0a1b2c/640.jpg"));
        assert!(!valid_file_key("products/../secrets/640.jpg"));
        assert!(!valid_file_key("other/640.jpg"));
    }
}
