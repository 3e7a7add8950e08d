// Image-folder data sets: binary Netpbm images (PGM, PPM) in one directory
// per class; see dq/runtime/Dataset.h.
#include "dq/runtime/Dataset.h"

#include "dq/runtime/Error.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>

namespace dq {
namespace runtime {
namespace {

bool isSpace(uint8_t c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

/// Reads the header's next decimal field at `pos` (after whitespace and
/// comments, '#' to the end of the line), at most `max`.
int64_t headerNumber(const uint8_t *data, size_t size, size_t &pos,
                     const char *field, int64_t max,
                     const std::string &source) {
  for (;;) {
    while (pos < size && isSpace(data[pos]))
      ++pos;
    if (pos < size && data[pos] == '#') {
      while (pos < size && data[pos] != '\n' && data[pos] != '\r')
        ++pos;
      continue;
    }
    break;
  }
  if (pos >= size)
    throw Error(source + ": the header ends before its " + field);
  if (data[pos] < '0' || data[pos] > '9')
    throw Error(source + ": the header's " + field +
                " is not a decimal number (byte " + std::to_string(pos) + ")");
  int64_t value = 0;
  while (pos < size && data[pos] >= '0' && data[pos] <= '9') {
    value = value * 10 + (data[pos] - '0');
    if (value > max)
      throw Error(source + ": the header's " + field + " is larger than " +
                  std::to_string(max));
    ++pos;
  }
  if (pos < size && !isSpace(data[pos]) && data[pos] != '#')
    throw Error(source + ": the header's " + field +
                " is followed by an unexpected byte (byte " +
                std::to_string(pos) + ")");
  return value;
}

std::string lower(std::string text) {
  for (char &c : text)
    if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  return text;
}

std::string extensionOf(const std::string &name) {
  size_t dot = name.rfind('.');
  return dot == std::string::npos ? "" : lower(name.substr(dot + 1));
}

/// The entries of `dir` (not "." and "..", nor hidden ones), sorted
/// bytewise, each with whether it is a directory (links followed).
std::vector<std::pair<std::string, bool>> listDirectory(const std::string &dir) {
  DIR *handle = ::opendir(dir.c_str());
  if (!handle)
    throw Error(dir + ": cannot open the directory: " + std::strerror(errno));
  std::vector<std::pair<std::string, bool>> entries;
  errno = 0;
  while (struct dirent *entry = ::readdir(handle)) {
    std::string name = entry->d_name;
    if (name.empty() || name[0] == '.')
      continue;
    struct stat info;
    std::string path = dir + "/" + name;
    if (::stat(path.c_str(), &info) != 0) {
      int error = errno;
      ::closedir(handle);
      throw Error(path + ": cannot stat: " + std::strerror(error));
    }
    if (!S_ISDIR(info.st_mode) && !S_ISREG(info.st_mode)) {
      ::closedir(handle);
      throw Error(path + ": neither a directory nor a regular file");
    }
    entries.push_back({name, S_ISDIR(info.st_mode)});
    errno = 0;
  }
  int error = errno;
  ::closedir(handle);
  if (error)
    throw Error(dir + ": cannot read the directory: " + std::strerror(error));
  std::sort(entries.begin(), entries.end());
  return entries;
}

/// The class directories of `split` (sorted; every entry must be one).
std::vector<std::string> classDirectories(const std::string &split) {
  struct stat info;
  if (::stat(split.c_str(), &info) != 0 || !S_ISDIR(info.st_mode))
    throw Error(split + ": not found (an image-folder data set is a "
                        "directory with train/ and test/, each holding one "
                        "directory of .pgm or .ppm images per class)");
  std::vector<std::string> classes;
  for (const auto &[name, isDir] : listDirectory(split)) {
    if (!isDir)
      throw Error(split + "/" + name +
                  ": not a directory (train/ and test/ hold one directory "
                  "per class)");
    classes.push_back(name);
  }
  if (classes.empty())
    throw Error(split + ": no class directories");
  if (classes.size() > static_cast<size_t>(kMaxFolderClasses))
    throw Error(split + ": " + std::to_string(classes.size()) +
                " class directories, more than " +
                std::to_string(kMaxFolderClasses));
  return classes;
}

/// The whole regular file `path`, at most `limit` bytes.
std::vector<uint8_t> readImageFile(const std::string &path, uint64_t limit) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    throw Error(path + ": cannot open: " + std::strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info;
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode))
    throw Error(path + ": not a regular file");
  if (static_cast<uint64_t>(info.st_size) > limit)
    throw Error(path + ": " + std::to_string(info.st_size) +
                " bytes, more than an image of at most " +
                std::to_string(kMaxPnmSide) + "x" +
                std::to_string(kMaxPnmSide) + " pixels takes");
  std::vector<uint8_t> data(static_cast<size_t>(info.st_size));
  size_t used = 0;
  while (used < data.size()) {
    ssize_t got = ::read(fd, data.data() + used, data.size() - used);
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0)
      throw Error(path + ": cannot read: " + std::strerror(errno));
    if (got == 0)
      throw Error(path + ": shorter than its size while being read");
    used += static_cast<size_t>(got);
  }
  return data;
}

} // namespace

PnmImage decodePnm(const uint8_t *data, size_t size,
                   const std::string &source) {
  if (size >= 8 && std::memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0)
    throw Error(source + ": a PNG image; the image-folder data set reads "
                         "binary PGM/PPM (convert, e.g. with Pillow: "
                         "Image.open(f).save(f[:-4] + '.ppm'), or use "
                         "--dataset npz)");
  if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff)
    throw Error(source + ": a JPEG image; the image-folder data set reads "
                         "binary PGM/PPM (convert, e.g. with Pillow, or use "
                         "--dataset npz)");
  if (size < 2 || data[0] != 'P' || (data[1] != '5' && data[1] != '6')) {
    if (size >= 2 && data[0] == 'P' && data[1] >= '1' && data[1] <= '4')
      throw Error(source + ": a plain (ASCII) or 1-bit Netpbm image (P" +
                  std::string(1, static_cast<char>(data[1])) +
                  "); only binary PGM (P5) and PPM (P6) are read");
    throw Error(source + ": not a binary PGM (P5) or PPM (P6) image");
  }
  PnmImage image;
  image.channels = data[1] == '5' ? 1 : 3;
  size_t pos = 2;
  if (pos < size && !isSpace(data[pos]) && data[pos] != '#')
    throw Error(source + ": no whitespace after the magic number");
  image.width = static_cast<int>(
      headerNumber(data, size, pos, "width", kMaxPnmSide, source));
  image.height = static_cast<int>(
      headerNumber(data, size, pos, "height", kMaxPnmSide, source));
  int64_t maxval = headerNumber(data, size, pos, "maximum value", 65535,
                                source);
  if (image.width < 1 || image.height < 1)
    throw Error(source + ": " + std::to_string(image.width) + "x" +
                std::to_string(image.height) + " pixels: empty image");
  if (maxval < 1)
    throw Error(source + ": maximum value 0 (expected 1 to 255)");
  if (maxval > 255)
    throw Error(source + ": maximum value " + std::to_string(maxval) +
                ": 16-bit samples are not read (expected at most 255)");
  // Exactly one whitespace byte separates the header from the pixels.
  if (pos >= size || !isSpace(data[pos]))
    throw Error(source + ": the header ends without the byte before the "
                         "pixels");
  ++pos;
  size_t expected = static_cast<size_t>(image.width) * image.height *
                    static_cast<size_t>(image.channels);
  if (size - pos < expected)
    throw Error(source + ": " + std::to_string(size - pos) +
                " bytes of pixels, expected " + std::to_string(expected) +
                " for " + std::to_string(image.width) + "x" +
                std::to_string(image.height) + "x" +
                std::to_string(image.channels));
  if (size - pos > expected)
    throw Error(source + ": " + std::to_string(size - pos - expected) +
                " bytes after the image (one image a file)");
  image.pixels.assign(data + pos, data + pos + expected);
  for (size_t i = 0; i < expected; ++i) {
    uint8_t v = image.pixels[i];
    if (v > maxval)
      throw Error(source + ": sample " + std::to_string(i) + " is " +
                  std::to_string(v) + ", above the maximum value " +
                  std::to_string(maxval));
    if (maxval != 255) // scaled to 0..255, rounded
      image.pixels[i] = static_cast<uint8_t>((v * 255 + maxval / 2) / maxval);
  }
  return image;
}

Dataset loadImageFolder(const std::string &dir, bool train) {
  std::string root = dir.empty() ? "." : dir;
  // Labels are the indices of the training set's classes, for both splits.
  std::vector<std::string> classes = classDirectories(root + "/train");
  std::vector<std::string> splitClasses =
      train ? classes : classDirectories(root + "/test");
  std::map<std::string, int> index;
  for (size_t i = 0; i < classes.size(); ++i)
    index[classes[i]] = static_cast<int>(i);
  std::string split = root + (train ? "/train" : "/test");
  Dataset data;
  data.source = split;
  data.classes = static_cast<int>(classes.size());
  std::string first; // the image that fixed the shape
  for (const std::string &name : splitClasses) {
    auto it = index.find(name);
    if (it == index.end())
      throw Error(split + "/" + name +
                  ": a class the training set (" + root +
                  "/train) does not have");
    std::string classDir = split + "/" + name;
    for (const auto &[file, isDir] : listDirectory(classDir)) {
      std::string path = classDir + "/" + file;
      if (isDir)
        throw Error(path + ": a directory inside a class directory");
      std::string ext = extensionOf(file);
      if (ext != "pgm" && ext != "ppm" && ext != "pnm") {
        if (ext == "png" || ext == "jpg" || ext == "jpeg")
          throw Error(path + ": a " + (ext == "png" ? "PNG" : "JPEG") +
                      " file; the image-folder data set reads binary "
                      "PGM/PPM (convert, e.g. with Pillow: Image.open(f)"
                      ".save(f.rsplit('.', 1)[0] + '.ppm'), or use "
                      "--dataset npz)");
        throw Error(path + ": not a .pgm, .ppm or .pnm image (a class "
                           "directory holds images only)");
      }
      uint64_t limit = 64 + uint64_t(kMaxPnmSide) * kMaxPnmSide * 3;
      std::vector<uint8_t> bytes = readImageFile(path, limit);
      PnmImage image = decodePnm(bytes.data(), bytes.size(), path);
      if (first.empty()) {
        first = path;
        data.height = image.height;
        data.width = image.width;
        data.channels = image.channels;
      } else if (image.height != data.height || image.width != data.width ||
                 image.channels != data.channels) {
        throw Error(path + ": " + std::to_string(image.height) + "x" +
                    std::to_string(image.width) + "x" +
                    std::to_string(image.channels) + " (HxWxC), but " +
                    first + " is " + std::to_string(data.height) + "x" +
                    std::to_string(data.width) + "x" +
                    std::to_string(data.channels) +
                    ": every image of a data set has the same size");
      }
      if (data.raw.size() + image.pixels.size() > kMaxFolderBytes)
        throw Error(split + ": more than " +
                    std::to_string(kMaxFolderBytes >> 20) +
                    " MiB of pixels (use --dataset npz for larger sets)");
      data.raw.insert(data.raw.end(), image.pixels.begin(),
                      image.pixels.end());
      data.labels.push_back(it->second);
      ++data.count;
    }
  }
  if (data.count == 0)
    throw Error(split + ": no images in its class directories");
  return data;
}

} // namespace runtime
} // namespace dq
