//===- SeedGenerator.cpp - seed corpora of the runtime fuzz targets -------===//
//
//   dq-fuzz-seeds <dir>
//
// Writes <dir>/{state-file,export,manifest,dataset}/ with valid inputs
// made by the runtime's own writers (so the seeds follow the current
// formats): state files and exports for the fixed manifest of
// FuzzSupport.h, manifests, IDX image/label files (raw and gzip), a
// CIFAR-10 batch and .npz data sets (stored, deflated, zip64).
//
//===----------------------------------------------------------------------===//

#include "FixedManifest.h"
#include "FuzzSupport.h"
// The .npz writer of the runtime's unit tests.
#include "../unittests/Runtime/NpzTestWriter.h"

#include "dq/runtime/Error.h"
#include "dq/runtime/Export.h"
#include "dq/runtime/Manifest.h"
#include "dq/runtime/StateFile.h"

#include <cstdio>
#include <cstring>
#include <sys/stat.h>
#include <zlib.h>

using namespace dq::runtime;

static std::string dir;

static std::string sub(const std::string &name) {
  std::string path = dir + "/" + name;
  mkdir(path.c_str(), 0755);
  return path;
}

static void writeRaw(const std::string &path, const std::string &bytes) {
  FILE *f = std::fopen(path.c_str(), "wb");
  if (!f || std::fwrite(bytes.data(), 1, bytes.size(), f) != bytes.size() ||
      std::fclose(f) != 0)
    throw Error("cannot write " + path);
}

static void writeGzip(const std::string &path, const std::string &bytes) {
  gzFile f = gzopen(path.c_str(), "wb9");
  if (!f || gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size())) !=
                static_cast<int>(bytes.size()) ||
      gzclose(f) != Z_OK)
    throw Error("cannot write " + path);
}

static void be32(std::string &out, uint32_t v) {
  for (int i = 3; i >= 0; --i)
    out.push_back(static_cast<char>(v >> (8 * i) & 0xff));
}

static std::vector<HostTensor> stateOf(const Manifest &manifest) {
  std::vector<HostTensor> state;
  for (const TensorSpec &spec : manifest.state) {
    HostTensor tensor(spec);
    for (int64_t i = 0; i < tensor.numElements(); ++i)
      switch (spec.dtype) {
      case DType::F32:
        tensor.as<float>()[i] = 0.25f * static_cast<float>(i + 1);
        break;
      case DType::I8: // 2-bit codes
        tensor.as<int8_t>()[i] = static_cast<int8_t>(i % 4);
        break;
      case DType::I32:
        tensor.as<int32_t>()[i] = static_cast<int32_t>(i);
        break;
      case DType::I64:
        tensor.as<int64_t>()[i] = 12 + i;
        break;
      }
    state.push_back(std::move(tensor));
  }
  return state;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: dq-fuzz-seeds <dir>\n");
    return 2;
  }
  dir = argv[1];
  mkdir(dir.c_str(), 0755);
  try {
    const Manifest &manifest = dq::fuzz::fixedManifest();
    std::vector<HostTensor> state = stateOf(manifest);

    std::string states = sub("state-file");
    writeStateFile(states + "/initial.state", manifest.moduleHash, state);
    writeStateFile(states + "/checkpoint.state", manifest.moduleHash, state,
                   R"({"step": 12, "epoch": 1, "position": 4, "seed": 7,)"
                   R"( "lr": {"base": 0.1, "schedule": "cosine"}})");
    {
      std::vector<HostTensor> scalars;
      const DType types[] = {DType::F32, DType::I8, DType::I32, DType::I64};
      for (int i = 0; i < 4; ++i) {
        TensorSpec spec{"t" + std::to_string(i), "", types[i],
                        i % 2 ? std::vector<int64_t>{2, 1}
                              : std::vector<int64_t>{}};
        scalars.emplace_back(spec);
      }
      scalars.emplace_back(TensorSpec{"empty", "", DType::F32, {0, 3}});
      writeStateFile(states + "/dtypes.state", 42, scalars, "{}");
    }

    std::string exports = sub("export");
    writeExport(exports + "/model.dqm", manifest, state);
    writeStateFile(exports + "/final.state", manifest.moduleHash, state,
                   R"({"step": 100})");

    std::string manifests = sub("manifest");
    writeRaw(manifests + "/fixed.manifest.json", toJson(manifest));
    Manifest cuda = manifest;
    cuda.device = "cuda";
    cuda.entryPoints["extra"] = {"_mlir_ciface_extra", {"x f32[]"}, {}};
    if (cuda.imageShape.size() == 3)
      cuda.preprocess = preprocessPreset("none", cuda.imageShape.back());
    writeRaw(manifests + "/cuda.manifest.json", toJson(cuda));

    std::string datasets = sub("dataset");
    std::string images, labels;
    be32(images, 0x00000803);
    be32(images, 3);
    be32(images, 4);
    be32(images, 5);
    for (int i = 0; i < 3 * 4 * 5; ++i)
      images.push_back(static_cast<char>(i * 13));
    be32(labels, 0x00000801);
    be32(labels, 3);
    labels += std::string("\x01\x09\x00", 3);
    writeRaw(datasets + "/images.idx", images);
    writeGzip(datasets + "/images.idx.gz", images);
    writeRaw(datasets + "/pair.idx", images + "DQFZSPLT" + labels);
    {
      // gzip both halves: write each to a temporary, join the bytes.
      std::string a = datasets + "/.a.gz", b = datasets + "/.b.gz";
      writeGzip(a, images);
      writeGzip(b, labels);
      auto slurp = [](const std::string &path) {
        std::string bytes;
        FILE *f = std::fopen(path.c_str(), "rb");
        char buffer[4096];
        size_t n;
        while (f && (n = std::fread(buffer, 1, sizeof(buffer), f)) > 0)
          bytes.append(buffer, n);
        if (f)
          std::fclose(f);
        std::remove(path.c_str());
        return bytes;
      };
      writeRaw(datasets + "/pair-gz.idx", slurp(a) + "DQFZSPLT" + slurp(b));
    }
    std::string cifar;
    for (int r = 0; r < 2; ++r) {
      cifar.push_back(static_cast<char>(r * 7));
      for (int i = 0; i < 3072; ++i)
        cifar.push_back(static_cast<char>((i * 7 + r) & 0xff));
    }
    writeRaw(datasets + "/batch.bin", cifar);
    // Numpy data sets, as np.savez and np.savez_compressed write them.
    auto bytes = [](const std::vector<uint8_t> &v) {
      return std::string(v.begin(), v.end());
    };
    using namespace dq::testing;
    writeRaw(datasets + "/stored.npz", bytes(sampleNpz(3, 4, 5, 1, 2)));
    writeRaw(datasets + "/deflated.npz",
             bytes(sampleNpz(2, 3, 3, 3, 10, /*deflate=*/true)));
    {
      std::vector<uint8_t> labels;
      for (int v : {1, 0, 4})
        putLe(labels, static_cast<uint64_t>(v), 2);
      std::vector<uint8_t> pixels(3 * 2 * 2);
      for (size_t i = 0; i < pixels.size(); ++i)
        pixels[i] = static_cast<uint8_t>(i * 21);
      writeRaw(datasets + "/zip64-classes.npz",
               bytes(npz({{"images.npy", npy("|u1", {3, 2, 2}, pixels, 2)},
                          {"labels.npy", npy("<u2", {3}, labels)},
                          {"classes.npy", npy(">i4", {}, {0, 0, 0, 5})}},
                         /*zip64Local=*/true, /*zip64End=*/true)));
      writeRaw(datasets + "/images-only.npz",
               bytes(npz({{"images.npy", npy("|u1", {3, 2, 2}, pixels),
                           /*deflate=*/true}})));
    }
  } catch (const Error &e) {
    std::fprintf(stderr, "dq-fuzz-seeds: %s\n", e.what());
    return 1;
  }
  return 0;
}
