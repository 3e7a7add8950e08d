// dq-train's metrics.jsonl: one JSON object a line. A run starts a fresh
// file (a header line naming the run and its settings), a "calibration"
// line after --calibrate, then writes a "step" line every --metrics-every steps
// and an "epoch" line after each epoch's checkpoint; a resumed run keeps the
// lines of the run it continues up to the checkpoint's step (a crash after the
// checkpoint left lines the resumed run will write again) and goes on in the
// same file.
#ifndef DQ_RUNTIME_METRICS_H
#define DQ_RUNTIME_METRICS_H

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace dq {
namespace runtime {

/// The largest metrics.jsonl a resumed run reads back (a run writes a few
/// hundred bytes per line).
constexpr uint64_t kMaxMetricsBytes = 256ull << 20;

class MetricsLog {
public:
  MetricsLog(std::string path, std::string runId)
      : path_(std::move(path)), runId_(std::move(runId)) {}

  /// A new run: the file is replaced by `header` and this run's lines when
  /// the first line is written (until then an old file is left as it was).
  void startFresh(const nlohmann::json &header);

  /// A resumed run at `step`: the existing file's lines of this run up to
  /// `step` are kept (every line is parsed and checked; a file of another
  /// run, or one this run cannot read, is replaced by a fresh one, with a
  /// warning on stderr), followed by `resumeLine`. `header` starts the file
  /// when nothing is kept.
  void resume(int64_t step, const nlohmann::json &header,
              const nlohmann::json &resumeLine);

  /// Writes one line (the first write replaces the file atomically).
  void write(const nlohmann::json &line);

  const std::string &path() const { return path_; }

private:
  std::string path_, runId_;
  std::string pending_; // lines for the first write
  bool written_ = false;
};

} // namespace runtime
} // namespace dq

#endif // DQ_RUNTIME_METRICS_H
