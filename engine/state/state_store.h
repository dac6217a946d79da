// StateStore: the RocksDB database that holds operator state.
//
// One store per process (worker or `sluice run`). Each operator state table
// is a column family named after the job, the operator and the state; keys
// inside it start with the task's partition so several tasks of one job share
// the family. Operators never write RocksDB directly: they keep hot state in
// their write-back caches and put dirty entries into a StateWriteBatch at
// each checkpoint, which the task commits atomically together with its input
// positions.
//
// Thread safety: a StateStore may be shared by the tasks of a worker
// (RocksDB is thread-safe); a StateTable and a StateWriteBatch belong to one
// task.
#ifndef SLUICE_ENGINE_STATE_STATE_STORE_H_
#define SLUICE_ENGINE_STATE_STATE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
class WriteBatch;
}  // namespace rocksdb

namespace sluice {

class StateTable;

// Changes collected during a checkpoint and applied in one atomic write.
// The smallest key greater than every key that starts with `prefix`; empty
// when there is none (a prefix of 0xff bytes only).
std::string PrefixEnd(std::string prefix);

class StateWriteBatch {
 public:
  StateWriteBatch();
  ~StateWriteBatch();
  StateWriteBatch(const StateWriteBatch&) = delete;
  StateWriteBatch& operator=(const StateWriteBatch&) = delete;

  void Put(const StateTable& table, std::string_view key, std::string_view value);
  void Delete(const StateTable& table, std::string_view key);
  // Deletes every key of `table` that starts with `prefix`.
  void DeletePrefix(const StateTable& table, std::string_view prefix);
  // Deletes the keys of `table` in [begin, end) (full keys, with the task
  // prefix).
  void DeleteRange(const StateTable& table, std::string_view begin, std::string_view end);

  // The changes in the order they were made, as a changelog carries them:
  // the column family, the kind ('P' put, 'D' delete, 'R' delete range),
  // the full key, and the value (put) or the range's end (delete range).
  absl::Status ForEach(const std::function<void(uint32_t family, char kind, std::string_view key,
                                                std::string_view value)>& fn) const;

  size_t count() const;
  size_t data_size() const;
  rocksdb::WriteBatch* rep() { return batch_.get(); }

  // Writes to a table handle that names no table (an operator asking for
  // state it did not declare) are not applied; they make the batch fail
  // here, in ForEach and in StateStore::Commit.
  absl::Status status() const;

 private:
  bool Accepts(const StateTable& table);

  std::unique_ptr<rocksdb::WriteBatch> batch_;
  int64_t undeclared_writes_ = 0;
};

// A handle on one state table of one task: a column family and the task's
// key prefix. Cheap to copy. A default-constructed handle names no table:
// reads from it fail with FailedPrecondition and writes fail the batch.
class StateTable {
 public:
  StateTable() = default;
  StateTable(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family, std::string prefix)
      : db_(db), family_(family), prefix_(std::move(prefix)) {}

  // Reads one key. Returns false when it is absent.
  absl::StatusOr<bool> Get(std::string_view key, std::string* value) const;

  // Calls `fn` for every key starting with `key_prefix`, in key order,
  // until it returns false. Keys are passed without the task prefix.
  absl::Status Scan(
      std::string_view key_prefix,
      const std::function<bool(std::string_view key, std::string_view value)>& fn) const;

  // RocksDB's estimate of the bytes the task's keys take (memtables and
  // files).
  int64_t ApproximateBytes() const;

  bool valid() const { return db_ != nullptr; }
  std::string FullKey(std::string_view key) const;
  rocksdb::ColumnFamilyHandle* family() const { return family_; }

 private:
  static absl::Status NotDeclared();

  rocksdb::DB* db_ = nullptr;
  rocksdb::ColumnFamilyHandle* family_ = nullptr;
  std::string prefix_;
};

struct StateStoreOptions {
  // Disables the RocksDB write-ahead log: state written by a checkpoint is
  // still durable once the store is closed cleanly, and the changelog (not
  // the local WAL) is what recovery relies on.
  bool disable_wal = false;
};

class StateStore {
 public:
  static absl::StatusOr<std::unique_ptr<StateStore>> Open(const std::string& directory,
                                                          StateStoreOptions options = {});
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  // Opens (creating if needed) the table `family` for the task identified by
  // `task_prefix`.
  absl::StatusOr<StateTable> OpenTable(const std::string& family, std::string task_prefix);

  // Applies a batch atomically.
  absl::Status Commit(StateWriteBatch& batch);

  // The name of the column family with RocksDB id `id` ("" if unknown).
  std::string FamilyName(uint32_t id);

  const std::string& directory() const { return directory_; }

 private:
  StateStore(std::string directory, StateStoreOptions options, rocksdb::DB* db);

  std::string directory_;
  StateStoreOptions options_;
  rocksdb::DB* db_;
  absl::Mutex mu_;
  absl::flat_hash_map<std::string, rocksdb::ColumnFamilyHandle*> families_ ABSL_GUARDED_BY(mu_);
};

// Order-preserving encodings used to build state keys.
void AppendBigEndian64(int64_t v, std::string* out);  // signed, sortable
int64_t ReadBigEndian64(std::string_view in);
void AppendBigEndian32(uint32_t v, std::string* out);

}  // namespace sluice

#endif  // SLUICE_ENGINE_STATE_STATE_STORE_H_
