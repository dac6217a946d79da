#include "engine/state/state_store.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"
#include "rocksdb/write_batch.h"

namespace sluice {
namespace {

// The one adapter from rocksdb::Status to absl::Status. Disk trouble (I/O
// errors, no space) is Unavailable so callers retry; corruption is DataLoss.
absl::Status FromRocks(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return absl::OkStatus();
  std::string message = absl::StrCat("state store ", std::string(what), ": ", s.ToString());
  if (s.IsIOError() || s.IsNoSpace() || s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) {
    return absl::UnavailableError(message);
  }
  if (s.IsCorruption()) return absl::DataLossError(message);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(message);
  return absl::InternalError(message);
}

rocksdb::Slice ToSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

}  // namespace

std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    unsigned char& c = reinterpret_cast<unsigned char&>(prefix.back());
    if (c != 0xff) {
      ++c;
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;
}

void AppendBigEndian64(int64_t v, std::string* out) {
  uint64_t u = static_cast<uint64_t>(v) ^ (uint64_t{1} << 63);
  for (int i = 7; i >= 0; --i) out->push_back(static_cast<char>(u >> (i * 8)));
}

int64_t ReadBigEndian64(std::string_view in) {
  uint64_t u = 0;
  for (int i = 0; i < 8; ++i) u = (u << 8) | static_cast<unsigned char>(in[i]);
  return static_cast<int64_t>(u ^ (uint64_t{1} << 63));
}

void AppendBigEndian32(uint32_t v, std::string* out) {
  for (int i = 3; i >= 0; --i) out->push_back(static_cast<char>(v >> (i * 8)));
}

StateWriteBatch::StateWriteBatch() : batch_(std::make_unique<rocksdb::WriteBatch>()) {}
StateWriteBatch::~StateWriteBatch() = default;

bool StateWriteBatch::Accepts(const StateTable& table) {
  if (table.valid()) return true;
  ++undeclared_writes_;
  return false;
}

void StateWriteBatch::Put(const StateTable& table, std::string_view key, std::string_view value) {
  if (!Accepts(table)) return;
  batch_->Put(table.family(), ToSlice(table.FullKey(key)), ToSlice(value)).PermitUncheckedError();
}

void StateWriteBatch::Delete(const StateTable& table, std::string_view key) {
  if (!Accepts(table)) return;
  batch_->Delete(table.family(), ToSlice(table.FullKey(key))).PermitUncheckedError();
}

void StateWriteBatch::DeletePrefix(const StateTable& table, std::string_view prefix) {
  if (!Accepts(table)) return;
  std::string begin = table.FullKey(prefix);
  std::string end = PrefixEnd(begin);
  if (end.empty()) end.assign(begin.size() + 1, '\xff');
  batch_->DeleteRange(table.family(), ToSlice(begin), ToSlice(end)).PermitUncheckedError();
}

void StateWriteBatch::DeleteRange(const StateTable& table, std::string_view begin,
                                  std::string_view end) {
  if (!Accepts(table)) return;
  batch_->DeleteRange(table.family(), ToSlice(begin), ToSlice(end)).PermitUncheckedError();
}

absl::Status StateWriteBatch::status() const {
  if (undeclared_writes_ == 0) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat(undeclared_writes_, " state write(s) to a table that was not declared"));
}

namespace {

class ForEachHandler final : public rocksdb::WriteBatch::Handler {
 public:
  using Fn = std::function<void(uint32_t, char, std::string_view, std::string_view)>;
  explicit ForEachHandler(const Fn& fn) : fn_(fn) {}
  rocksdb::Status PutCF(uint32_t family, const rocksdb::Slice& key,
                        const rocksdb::Slice& value) override {
    fn_(family, 'P', View(key), View(value));
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteCF(uint32_t family, const rocksdb::Slice& key) override {
    fn_(family, 'D', View(key), {});
    return rocksdb::Status::OK();
  }
  rocksdb::Status DeleteRangeCF(uint32_t family, const rocksdb::Slice& begin,
                                const rocksdb::Slice& end) override {
    fn_(family, 'R', View(begin), View(end));
    return rocksdb::Status::OK();
  }

 private:
  static std::string_view View(const rocksdb::Slice& s) { return {s.data(), s.size()}; }
  const Fn& fn_;
};

}  // namespace

absl::Status StateWriteBatch::ForEach(
    const std::function<void(uint32_t, char, std::string_view, std::string_view)>& fn) const {
  if (absl::Status s = status(); !s.ok()) return s;
  ForEachHandler handler(fn);
  return FromRocks(batch_->Iterate(&handler), "read a write batch");
}

size_t StateWriteBatch::count() const { return batch_->Count(); }
size_t StateWriteBatch::data_size() const { return batch_->GetDataSize(); }

std::string StateTable::FullKey(std::string_view key) const {
  std::string full;
  full.reserve(prefix_.size() + key.size());
  full.append(prefix_);
  full.append(key);
  return full;
}

int64_t StateTable::ApproximateBytes() const {
  if (db_ == nullptr) return 0;
  // Keys of this task: [prefix, prefix with its last byte incremented).
  std::string limit = prefix_;
  while (!limit.empty() && static_cast<unsigned char>(limit.back()) == 0xff) limit.pop_back();
  if (limit.empty()) {
    limit.assign(1, '\xff');
    limit.append(8, '\xff');
  } else {
    limit.back() = static_cast<char>(static_cast<unsigned char>(limit.back()) + 1);
  }
  rocksdb::Range range(prefix_, limit);
  rocksdb::SizeApproximationOptions options;
  options.include_memtables = true;
  options.include_files = true;
  uint64_t size = 0;
  if (!db_->GetApproximateSizes(options, family_, &range, 1, &size).ok()) return 0;
  return static_cast<int64_t>(size);
}

absl::Status StateTable::NotDeclared() {
  return absl::FailedPreconditionError("state table was not declared (DeclareState)");
}

absl::StatusOr<bool> StateTable::Get(std::string_view key, std::string* value) const {
  if (!valid()) return NotDeclared();
  rocksdb::Status s = db_->Get(rocksdb::ReadOptions(), family_, ToSlice(FullKey(key)), value);
  if (s.IsNotFound()) return false;
  if (!s.ok()) return FromRocks(s, "read");
  return true;
}

absl::Status StateTable::Scan(
    std::string_view key_prefix,
    const std::function<bool(std::string_view, std::string_view)>& fn) const {
  if (!valid()) return NotDeclared();
  const std::string begin = FullKey(key_prefix);
  const std::string end = PrefixEnd(begin);
  rocksdb::ReadOptions options;
  rocksdb::Slice upper(end);
  if (!end.empty()) options.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(options, family_));
  for (it->Seek(ToSlice(begin)); it->Valid(); it->Next()) {
    rocksdb::Slice k = it->key();
    if (!k.starts_with(ToSlice(begin))) break;
    std::string_view user_key(k.data() + prefix_.size(), k.size() - prefix_.size());
    rocksdb::Slice v = it->value();
    if (!fn(user_key, std::string_view(v.data(), v.size()))) break;
  }
  return FromRocks(it->status(), "scan");
}

StateStore::StateStore(std::string directory, StateStoreOptions options, rocksdb::DB* db)
    : directory_(std::move(directory)), options_(options), db_(db) {}

absl::StatusOr<std::unique_ptr<StateStore>> StateStore::Open(const std::string& directory,
                                                             StateStoreOptions options) {
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.IncreaseParallelism(2);
  db_options.max_open_files = 256;
  db_options.info_log_level = rocksdb::InfoLogLevel::WARN_LEVEL;
  db_options.keep_log_file_num = 2;

  std::vector<std::string> names;
  rocksdb::Status s = rocksdb::DB::ListColumnFamilies(db_options, directory, &names);
  if (!s.ok()) names = {rocksdb::kDefaultColumnFamilyName};
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) {
    descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions(db_options));
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  s = rocksdb::DB::Open(db_options, directory, descriptors, &handles, &db);
  if (!s.ok()) return FromRocks(s, absl::StrCat("open ", directory));
  std::unique_ptr<StateStore> store(new StateStore(directory, options, db));
  absl::MutexLock lock(&store->mu_);
  for (size_t i = 0; i < handles.size(); ++i) {
    store->families_[names[i]] = handles[i];
  }
  return store;
}

StateStore::~StateStore() {
  {
    absl::MutexLock lock(&mu_);
    for (auto& [name, handle] : families_) {
      db_->DestroyColumnFamilyHandle(handle).PermitUncheckedError();
    }
    families_.clear();
  }
  db_->Close().PermitUncheckedError();
  delete db_;
}

absl::StatusOr<StateTable> StateStore::OpenTable(const std::string& family,
                                                 std::string task_prefix) {
  absl::MutexLock lock(&mu_);
  auto it = families_.find(family);
  if (it == families_.end()) {
    rocksdb::ColumnFamilyHandle* handle = nullptr;
    rocksdb::Status s = db_->CreateColumnFamily(rocksdb::ColumnFamilyOptions(), family, &handle);
    if (!s.ok()) return FromRocks(s, absl::StrCat("create table ", family));
    it = families_.emplace(family, handle).first;
  }
  return StateTable(db_, it->second, std::move(task_prefix));
}

absl::Status StateStore::Commit(StateWriteBatch& batch) {
  if (absl::Status s = batch.status(); !s.ok()) return s;
  rocksdb::WriteOptions options;
  options.disableWAL = options_.disable_wal;
  return FromRocks(db_->Write(options, batch.rep()), "commit");
}

std::string StateStore::FamilyName(uint32_t id) {
  absl::MutexLock lock(&mu_);
  for (const auto& [name, handle] : families_) {
    if (handle->GetID() == id) return name;
  }
  return "";
}

}  // namespace sluice
