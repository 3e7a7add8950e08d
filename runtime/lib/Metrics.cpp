#include "dq/runtime/Metrics.h"

#include "dq/runtime/Error.h"
#include "dq/runtime/Files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <optional>
#include <vector>

using dq::runtime::Error;
using Json = nlohmann::json;

namespace dq {
namespace runtime {
namespace {

/// The contents of `path`: std::nullopt when it does not exist; throws
/// Error (with the reason) when it is not a regular file, is larger than
/// kMaxMetricsBytes or cannot be read. Never follows a symbolic link.
std::optional<std::string> readMetricsFile(const std::string &path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return std::nullopt;
    throw Error(std::string("cannot open it: ") + std::strerror(errno));
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat info;
  if (::fstat(fd, &info) != 0)
    throw Error(std::string("cannot stat it: ") + std::strerror(errno));
  if (!S_ISREG(info.st_mode))
    throw Error("it is not a regular file");
  if (static_cast<uint64_t>(info.st_size) > kMaxMetricsBytes)
    throw Error("it has " + std::to_string(info.st_size) +
                " bytes, more than the " +
                std::to_string(kMaxMetricsBytes >> 20) + " MiB read back");
  std::string text;
  char chunk[65536];
  for (;;) {
    ssize_t got = ::read(fd, chunk, sizeof chunk);
    if (got < 0) {
      if (errno == EINTR)
        continue;
      throw Error(std::string("cannot read it: ") + std::strerror(errno));
    }
    if (got == 0)
      break;
    text.append(chunk, static_cast<size_t>(got));
    if (text.size() > kMaxMetricsBytes)
      throw Error("it grew past " + std::to_string(kMaxMetricsBytes >> 20) +
                  " MiB while being read");
  }
  return text;
}

bool isKind(const std::string &kind) {
  return kind == "run" || kind == "resume" || kind == "calibration" ||
         kind == "step" || kind == "epoch";
}

/// The lines of `text` that belong to run `runId` at or before `step`, each
/// checked (an object; "run" this run's id; "kind" one of dq-train's;
/// "step" an integer in [0, INT64_MAX]) and written back as parsed.
/// `dropped` counts the lines after `step`. Throws Error naming the first
/// line that fails, except a last line without its newline (the write a
/// crash cut short), which is dropped.
std::string keptLines(const std::string &text, const std::string &runId,
                      int64_t step, size_t &dropped) {
  std::string kept;
  size_t lineNumber = 0;
  for (size_t begin = 0; begin < text.size();) {
    size_t end = text.find('\n', begin);
    bool torn = end == std::string::npos;
    std::string line =
        text.substr(begin, torn ? std::string::npos : end - begin);
    begin = torn ? text.size() : end + 1;
    ++lineNumber;
    if (line.empty())
      continue;
    auto bad = [&](const std::string &why) {
      return Error("line " + std::to_string(lineNumber) + " " + why);
    };
    Json value = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) {
      if (torn)
        break; // cut short by a crash: the resumed run writes it again
      throw bad("is not JSON");
    }
    if (!value.is_object())
      throw bad("is not a JSON object");
    if (!value.contains("run") || !value["run"].is_string())
      throw bad("names no run");
    if (value["run"].get<std::string>() != runId)
      throw bad("belongs to run " + value["run"].dump() + ", not " +
                Json(runId).dump());
    // Lines of dq-train before the header and kinds existed are epochs.
    std::string kind = "epoch";
    if (value.contains("kind")) {
      if (!value["kind"].is_string() ||
          !isKind(value["kind"].get<std::string>()))
        throw bad("has kind " + value["kind"].dump() +
                  ", expected run, resume, calibration, step or epoch");
      kind = value["kind"].get<std::string>();
    }
    if (kind != "run") {
      const Json *s = value.contains("step") ? &value["step"] : nullptr;
      if (!s || !s->is_number_integer() ||
          (s->is_number_unsigned() &&
           s->get<uint64_t>() > static_cast<uint64_t>(INT64_MAX)) ||
          s->get<int64_t>() < 0)
        throw bad("has no step (an integer >= 0)");
      if (s->get<int64_t>() > step) {
        ++dropped;
        continue;
      }
    }
    kept += value.dump() + "\n";
  }
  return kept;
}

} // namespace

void MetricsLog::startFresh(const Json &header) {
  pending_ = header.dump() + "\n";
  written_ = false;
}

void MetricsLog::resume(int64_t step, const Json &header,
                        const Json &resumeLine) {
  std::string kept;
  try {
    size_t dropped = 0;
    if (std::optional<std::string> text = readMetricsFile(path_))
      kept = keptLines(*text, runId_, step, dropped);
    if (dropped)
      std::fprintf(stderr,
                   "dq-train: note: %s: %zu line%s after step %lld (written "
                   "after the checkpoint) will be written again by this "
                   "run\n",
                   path_.c_str(), dropped, dropped == 1 ? "" : "s",
                   static_cast<long long>(step));
  } catch (const Error &e) {
    std::fprintf(stderr,
                 "dq-train: warning: %s is not continued (%s); this run "
                 "starts a new one\n",
                 path_.c_str(), e.what());
    kept.clear();
  }
  pending_ =
      (kept.empty() ? header.dump() + "\n" : kept) + resumeLine.dump() + "\n";
  written_ = false;
}

void MetricsLog::write(const Json &line) {
  if (!written_) {
    runtime::writeFileAtomic(path_, pending_ + line.dump() + "\n");
    pending_.clear();
    written_ = true;
    return;
  }
  runtime::appendToFile(path_, line.dump() + "\n");
}

} // namespace runtime
} // namespace dq
