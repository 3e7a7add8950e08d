// Image classification data sets for dq-train / dq-run: loading (IDX as used
// by Fashion-MNIST, CIFAR-10 binary), normalization, a reproducible epoch
// order, and the augmentation of docs/Algorithm.md (pad + random crop +
// horizontal flip).
//
// Reproducibility: every random choice (the epoch's order, each sample's crop
// and flip) is a pure function of (seed, epoch[, sample index]) computed with
// our own generator, so a run resumed from a checkpoint mid-epoch sees exactly
// the batches and augmentations it would have seen without the interruption,
// on any platform and standard library.
//
// Errors (unreadable, malformed or inconsistent files, bad arguments) are
// reported by throwing dq::runtime::Error with a message that names the file.
#ifndef DQ_RUNTIME_DATASET_H
#define DQ_RUNTIME_DATASET_H

#include "dq/runtime/Preprocess.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dq {
namespace runtime {

/// Where the Debian package dataset-fashion-mnist installs the files.
constexpr const char *kDefaultFashionMnistDir =
    "/usr/share/datasets/fashion-mnist";

/// N images in NHWC layout with int32 labels in [0, classes).
struct Dataset {
  size_t count = 0;
  int height = 0;
  int width = 0;
  int channels = 0;
  int classes = 0;
  /// The file (or directory) it was read from, for messages.
  std::string source;
  /// The pixels as stored in the file, NHWC, count * imageElements() bytes.
  std::vector<uint8_t> raw;
  /// (raw / 255 - mean[c]) / stddev[c], NHWC; empty until normalize().
  std::vector<float> images;
  std::vector<int32_t> labels;
  /// Per-channel statistics normalize() used (pixel/255 units); empty before.
  std::vector<float> mean;
  std::vector<float> stddev;

  size_t imageElements() const {
    return static_cast<size_t>(height) * width * channels;
  }
  bool isNormalized() const { return !mean.empty(); }

  /// Fills `images` from `raw`; one mean and standard deviation per channel
  /// (or a single value used for all channels). Throws on a size mismatch or
  /// a non-positive standard deviation.
  void normalize(const std::vector<float> &mean,
                 const std::vector<float> &stddev);
  /// normalize() with a manifest's preprocessing (its f32 values).
  void normalize(const Preprocess &preprocess) {
    normalize(preprocess.meanF32(), preprocess.stddevF32());
  }

  /// The value a black pixel (raw 0) of channel c normalizes to, used for
  /// the augmentation's padding. Requires isNormalized().
  float blackValue(int channel) const;

  /// Normalized pixels of image i (imageElements() floats).
  const float *image(size_t i) const {
    return images.data() + i * imageElements();
  }
};

/// Reads an IDX image file (magic 0x00000803: count, rows, cols, then
/// count*rows*cols bytes) and an IDX label file (magic 0x00000801: count,
/// then count bytes, each < 10). Either may be gzip-compressed or not (zlib
/// reads both). The result has 1 channel, 10 classes, and is not normalized.
Dataset loadIdx(const std::string &imagesPath, const std::string &labelsPath);
/// Images only (an IDX image file); `labels` stays empty.
Dataset loadIdxImages(const std::string &imagesPath);

/// Loads the Fashion-MNIST training (60000) or test (10000) set from `dir`
/// with the standard file names ({train,t10k}-{images-idx3,labels-idx1}-ubyte,
/// with or without .gz). Not normalized.
Dataset loadFashionMnist(const std::string &dir, bool train);

/// Loads CIFAR-10 binary batch files (data_batch_*.bin, test_batch.bin: each
/// record is 1 label byte + 3072 pixel bytes, planes R, G, B of 32x32) in the
/// order given, converting the pixels to NHWC. Not normalized.
Dataset loadCifar10Binary(const std::vector<std::string> &batchFiles);

/// Reads a numpy data set (docs/Runtime.md, "Numpy data sets"): an .npz
/// archive as np.savez or np.savez_compressed writes it, holding `images`
/// (uint8, NHWC [N, H, W, C], or [N, H, W] for one channel), `labels`
/// (any integer type, [N], class indices) and optionally `classes` (an
/// integer scalar, the class count; without it the largest label + 1).
/// Every length, offset and value is checked (zip structure, CRC-32, the
/// .npy headers, dtypes, shapes, label range); a member is never inflated
/// past its declared size. With `requireLabels` false, `labels` may be
/// absent (dq-run --images). Not normalized.
Dataset loadNpz(const std::string &path, bool requireLabels = true);
/// `dir/train.npz` or `dir/test.npz` with loadNpz.
Dataset loadNpzDataset(const std::string &dir, bool train);
/// Image-folder limits: the side of one image, the pixels of a split, the
/// classes.
constexpr int64_t kMaxPnmSide = 4096;
constexpr uint64_t kMaxFolderBytes = 1ull << 32;
constexpr int64_t kMaxFolderClasses = 65536;

/// One decoded Netpbm image, pixels HWC scaled to 0..255.
struct PnmImage {
  int height = 0, width = 0, channels = 0;
  std::vector<uint8_t> pixels;
};
/// Decodes a binary PGM (P5, 1 channel) or PPM (P6, 3 channels) image:
/// the header (width and height in [1, kMaxPnmSide], maximum value in
/// [1, 255], '#' comments), exactly one whitespace byte, then exactly
/// width * height * channels samples, each at most the maximum value
/// (scaled to 0..255 when that is below 255). Anything else, a PNG or JPEG
/// included, throws Error naming `source`.
PnmImage decodePnm(const uint8_t *data, size_t size,
                   const std::string &source);
/// An image-folder data set (docs/Runtime.md, "Data sets"): `dir/train/` and
/// `dir/test/`, each with one directory per class holding .pgm/.ppm/.pnm
/// images (decodePnm) of one size. The classes are the training set's
/// directory names, sorted bytewise, label i the i-th; the test set may
/// lack classes but not have others. Hidden entries are skipped; any other
/// file is an error. Not normalized.
Dataset loadImageFolder(const std::string &dir, bool train);

/// True when the file starts as a zip archive does ("PK\3\4" or an empty
/// archive's "PK\5\6"): dq-run --images tells an .npz from an IDX file.
bool looksLikeZip(const std::string &path);

/// The data sets dq-train and dq-run read by name (--dataset):
/// "fashion-mnist" (the IDX files of loadFashionMnist in `dir`), "cifar10"
/// (CIFAR-10 binary batches: data_batch_1..5.bin, test_batch.bin), "npz"
/// (loadNpzDataset) and "folder" (loadImageFolder).
const std::vector<std::string> &datasetNames();
/// The training or test split of data set `name` in `dir`; throws Error for
/// an unknown name. Not normalized.
Dataset loadNamedDataset(const std::string &name, const std::string &dir,
                         bool train);

/// The check of a data set's classes against a model's logits: throws
/// when the data set has more classes than the model predicts (a label
/// would index past the logits; `what` names the data set in the
/// message); returns a warning (empty: none) when it has fewer.
std::string checkClassCount(int dataClasses, int64_t modelClasses,
                            const std::string &what);

/// "the images are [3,32,32] but the model takes [32,32,3]", with a hint
/// when the images look NCHW (PyTorch's layout) for the model's NHWC.
std::string imageShapeMismatch(const std::vector<int64_t> &dataShape,
                               const std::vector<int64_t> &modelShape,
                               const std::string &what);

/// One batch: always `batch` sample indices, of which the first `valid` are
/// distinct samples to count; the rest (evaluation only) repeat samples so
/// that a fixed-shape compiled model can run a last, partial batch.
struct Batch {
  std::vector<size_t> indices;
  size_t valid = 0;
};

/// Epoch order and batching of n samples.
///
/// Training (batches(epoch)): the samples in order(epoch), cut into full
/// batches; the last n % batch samples of that order are dropped for the
/// epoch (compiled train_step has a fixed batch size, and a padded batch would
/// weight repeated samples twice). Since the order changes every epoch, a
/// different remainder is dropped each time.
///
/// Evaluation (evalBatches()): samples 0..n-1 in order, ceil(n / batch)
/// batches; the last one is filled by repeating its own samples and its
/// `valid` says how many count, so every sample is counted exactly once.
class BatchSampler {
public:
  /// Throws if n or batch is zero.
  BatchSampler(size_t n, size_t batch, uint64_t seed);

  size_t size() const { return n_; }
  size_t batchSize() const { return batch_; }
  uint64_t seed() const { return seed_; }

  /// A permutation of [0, n) that depends only on (seed, epoch): Fisher-Yates
  /// driven by splitmix64 (not std::shuffle, whose results differ between
  /// standard libraries).
  std::vector<size_t> order(uint64_t epoch) const;

  /// Full batches per training epoch: n / batch.
  size_t batchesPerEpoch() const { return n_ / batch_; }
  /// The training batches of an epoch (every one has valid == batch).
  std::vector<Batch> batches(uint64_t epoch) const;

  /// Evaluation batches per pass: ceil(n / batch).
  size_t evalBatchCount() const { return (n_ + batch_ - 1) / batch_; }
  /// The evaluation batches, covering every sample exactly once.
  std::vector<Batch> evalBatches() const;

private:
  size_t n_;
  size_t batch_;
  uint64_t seed_;
};

/// Pad + random crop + horizontal flip. The crop has the image's own size,
/// so the output has the input's shape.
struct AugmentOptions {
  int pad = 2;
  bool flip = true;
};

/// The random choices for one sample: the crop's top-left corner in the
/// padded image, offsetY/offsetX in [0, 2*pad] (pad, pad is the unshifted
/// image), and whether the crop is mirrored left-right.
struct AugmentChoice {
  int offsetY = 0;
  int offsetX = 0;
  bool flip = false;
};

/// The choices for sample `index` in `epoch`: a counter-based hash of
/// (seed, epoch, index), independent of the batch the sample lands in, so
/// resuming mid-epoch reproduces them.
AugmentChoice augmentChoice(uint64_t seed, uint64_t epoch, size_t index,
                            const AugmentOptions &options = {});

/// Writes count augmented images (count * imageElements() floats, NHWC) of
/// the normalized dataset to out. Padding pixels take blackValue(c), the value
/// a raw 0 normalizes to ((0 - mean) / std), which is what padding before
/// normalizing (as torchvision's RandomCrop does) gives.
void augment(const Dataset &data, const size_t *indices, size_t count,
             uint64_t epoch, uint64_t seed, float *out,
             const AugmentOptions &options = {});
void augment(const Dataset &data, const std::vector<size_t> &indices,
             uint64_t epoch, uint64_t seed, float *out,
             const AugmentOptions &options = {});

/// Copies the normalized images of `indices` to out unchanged (evaluation).
void gatherBatch(const Dataset &data, const std::vector<size_t> &indices,
                 float *out);
/// Copies the labels of `indices` to out.
void gatherLabels(const Dataset &data, const std::vector<size_t> &indices,
                  int32_t *out);

} // namespace runtime
} // namespace dq

#endif // DQ_RUNTIME_DATASET_H
