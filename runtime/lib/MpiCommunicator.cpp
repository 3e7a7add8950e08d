//===- MpiCommunicator.cpp - data-parallel runs over MPI ------------------===//

#include "dq/runtime/MpiCommunicator.h"

#include "dq/runtime/Error.h"

#include <mpi.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <utility>
#include <vector>

namespace dq {
namespace runtime {
namespace {

class MpiCommunicator final : public Communicator {
public:
  MpiCommunicator() {
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    // Errors come back as codes, so they can be reported with the rank.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    collectives_.version = DQ_COLLECTIVES_VERSION;
    collectives_.all_reduce = &MpiCommunicator::allReduce;
    collectives_.context = this;
  }
  ~MpiCommunicator() override { MPI_Finalize(); }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string describe() const override {
    return "MPI, " + std::to_string(size_) + " processes";
  }
  const DQCollectives *collectives() override { return &collectives_; }

  void minMax(const std::vector<uint64_t> &values, std::vector<uint64_t> &min,
              std::vector<uint64_t> &max) override {
    min.assign(values.size(), 0);
    max.assign(values.size(), 0);
    int n = static_cast<int>(values.size());
    check(MPI_Allreduce(values.data(), min.data(), n, MPI_UINT64_T, MPI_MIN,
                        MPI_COMM_WORLD),
          "MPI_Allreduce (min)");
    check(MPI_Allreduce(values.data(), max.data(), n, MPI_UINT64_T, MPI_MAX,
                        MPI_COMM_WORLD),
          "MPI_Allreduce (max)");
  }

  void sum(std::vector<uint64_t> &values) override {
    check(MPI_Allreduce(MPI_IN_PLACE, values.data(),
                        static_cast<int>(values.size()), MPI_UINT64_T, MPI_SUM,
                        MPI_COMM_WORLD),
          "MPI_Allreduce (sum)");
  }

  void abortRun(int code) override { MPI_Abort(MPI_COMM_WORLD, code); }

  bool any(bool flag) override {
    int local = flag ? 1 : 0, global = 0;
    check(MPI_Allreduce(&local, &global, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD),
          "MPI_Allreduce (any)");
    return global != 0;
  }

private:
  /// Reports a failed MPI call with the rank and ends the run.
  void check(int code, const char *what) const {
    if (code == MPI_SUCCESS)
      return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    std::fprintf(stderr, "dq-train: rank %d of %d: %s failed: %.*s\n", rank_,
                 size_, what, length, text);
    MPI_Abort(MPI_COMM_WORLD, 1);
    std::abort();
  }

  static int allReduce(void *context, void *data, int64_t count, int32_t type,
                       int32_t reduction) {
    auto *self = static_cast<MpiCommunicator *>(context);
    bool ordered = (self->size_ & (self->size_ - 1)) == 0 &&
                   count <= std::numeric_limits<int>::max();
    if (ordered && type == DQ_COLLECTIVE_F32)
      self->orderedSum(static_cast<float *>(data), count, MPI_FLOAT);
    else if (ordered && type == DQ_COLLECTIVE_F64)
      self->orderedSum(static_cast<double *>(data), count, MPI_DOUBLE);
    else
      self->mpiSum(data, count, type);
    if (reduction == DQ_COLLECTIVE_MEAN) {
      double scale = 1.0 / self->size_;
      if (type == DQ_COLLECTIVE_F64)
        for (int64_t i = 0; i < count; ++i)
          static_cast<double *>(data)[i] *= scale;
      else if (type == DQ_COLLECTIVE_F32)
        for (int64_t i = 0; i < count; ++i)
          static_cast<float *>(data)[i] =
              static_cast<float>(static_cast<float *>(data)[i] * scale);
    }
    return 0;
  }

  /// MPI's own sum: its order is MPI's algorithm choice (by message size
  /// and process count).
  void mpiSum(void *data, int64_t count, int32_t type) {
    MPI_Datatype mpiType = type == DQ_COLLECTIVE_F64   ? MPI_DOUBLE
                           : type == DQ_COLLECTIVE_I32 ? MPI_INT32_T
                                                       : MPI_FLOAT;
    // One call moves at most INT_MAX elements.
    char *bytes = static_cast<char *>(data);
    int elementSize = 0;
    MPI_Type_size(mpiType, &elementSize);
    for (int64_t done = 0; done < count;) {
      int n = static_cast<int>(std::min<int64_t>(count - done, 1 << 30));
      check(MPI_Allreduce(MPI_IN_PLACE, bytes + done * elementSize, n, mpiType,
                          MPI_SUM, MPI_COMM_WORLD),
            "MPI_Allreduce of a training step");
      done += n;
    }
  }

  /// The sum over a power-of-two number of processes in one fixed order,
  /// that of dq-block-batch-sums: ranks [0, P/2)'s sum plus ranks
  /// [P/2, P)'s, each half likewise. A reduce-scatter by recursive halving
  /// (partners at distance 1, 2, 4, ...: each step adds a pair of adjacent
  /// subtrees on half of the segment) and the allgather back; the bytes a
  /// process sends are those of a ring all-reduce, 2 (P - 1) / P of the
  /// buffer. Both partners of a step compute the same values, since a + b
  /// and b + a round alike.
  template <typename T>
  void orderedSum(T *data, int64_t count, MPI_Datatype mpiType) {
    int64_t lo = 0, hi = count;
    std::vector<std::pair<int64_t, int64_t>> segments;
    std::vector<T> incoming;
    for (int distance = 1; distance < size_; distance <<= 1) {
      int partner = rank_ ^ distance;
      int64_t mid = lo + (hi - lo) / 2;
      bool lower = (rank_ & distance) == 0;
      int64_t keepLo = lower ? lo : mid, keepHi = lower ? mid : hi;
      int64_t sendLo = lower ? mid : lo, sendHi = lower ? hi : mid;
      incoming.resize(static_cast<size_t>(keepHi - keepLo));
      exchange(data + sendLo, sendHi - sendLo, incoming.data(),
               keepHi - keepLo, partner, mpiType);
      for (int64_t i = keepLo; i < keepHi; ++i)
        data[i] = data[i] + incoming[static_cast<size_t>(i - keepLo)];
      segments.emplace_back(lo, hi);
      lo = keepLo;
      hi = keepHi;
    }
    for (int distance = size_ / 2; distance >= 1; distance >>= 1) {
      auto [outerLo, outerHi] = segments.back();
      segments.pop_back();
      int64_t otherLo = lo == outerLo ? hi : outerLo;
      int64_t otherHi = lo == outerLo ? outerHi : lo;
      exchange(data + lo, hi - lo, data + otherLo, otherHi - otherLo,
               rank_ ^ distance, mpiType);
      lo = outerLo;
      hi = outerHi;
    }
  }

  template <typename T>
  void exchange(const T *send, int64_t sendCount, T *receive,
                int64_t receiveCount, int partner, MPI_Datatype mpiType) {
    check(MPI_Sendrecv(send, static_cast<int>(sendCount), mpiType, partner,
                       kSumTag, receive, static_cast<int>(receiveCount),
                       mpiType, partner, kSumTag, MPI_COMM_WORLD,
                       MPI_STATUS_IGNORE),
          "MPI_Sendrecv of a training step's all-reduce");
  }

  static constexpr int kSumTag = 17;
  int rank_ = 0, size_ = 1;
  DQCollectives collectives_{};
};

} // namespace

std::unique_ptr<Communicator> openMpiCommunicator(int *argc, char ***argv) {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized && MPI_Init(argc, argv) != MPI_SUCCESS)
    throw Error("MPI_Init failed: cannot join the run's other processes");
  return std::make_unique<MpiCommunicator>();
}

} // namespace runtime
} // namespace dq
