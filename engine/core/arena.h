// Arena: a bump allocator for the variable-length parts of values (strings,
// record fields, array items) that live as long as the batch owning them.
//
// Owned by one task thread at a time; batches keep their arenas alive through
// shared_ptr, so values can flow between operators without copying.
#ifndef SLUICE_ENGINE_CORE_ARENA_H_
#define SLUICE_ENGINE_CORE_ARENA_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace sluice {

class Arena {
 public:
  explicit Arena(size_t first_block_size = 4096) : next_block_size_(first_block_size) {}
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  // Returns `size` bytes aligned to `align` (a power of two).
  void* Allocate(size_t size, size_t align = alignof(std::max_align_t)) {
    uintptr_t p = (reinterpret_cast<uintptr_t>(cursor_) + align - 1) & ~(uintptr_t{align} - 1);
    if (cursor_ == nullptr || p + size > reinterpret_cast<uintptr_t>(limit_)) {
      NewBlock(size + align);
      p = (reinterpret_cast<uintptr_t>(cursor_) + align - 1) & ~(uintptr_t{align} - 1);
    }
    cursor_ = reinterpret_cast<char*>(p + size);
    return reinterpret_cast<void*>(p);
  }

  template <typename T>
  T* AllocateArray(size_t n) {
    return static_cast<T*>(Allocate(sizeof(T) * (n == 0 ? 1 : n), alignof(T)));
  }

  // Copies `s` into the arena and returns a view of the copy.
  std::string_view CopyString(std::string_view s) {
    if (s.empty()) return std::string_view("", 0);
    char* dst = static_cast<char*>(Allocate(s.size(), 1));
    std::memcpy(dst, s.data(), s.size());
    return std::string_view(dst, s.size());
  }

  // Bytes handed out so far, including block slack; for memory accounting.
  size_t bytes_reserved() const { return bytes_reserved_; }

 private:
  void NewBlock(size_t min_size) {
    size_t size = next_block_size_ > min_size ? next_block_size_ : min_size;
    blocks_.push_back(std::make_unique<char[]>(size));
    cursor_ = blocks_.back().get();
    limit_ = cursor_ + size;
    bytes_reserved_ += size;
    if (next_block_size_ < (size_t{1} << 20)) next_block_size_ *= 2;
  }

  std::vector<std::unique_ptr<char[]>> blocks_;
  char* cursor_ = nullptr;
  char* limit_ = nullptr;
  size_t next_block_size_;
  size_t bytes_reserved_ = 0;
};

}  // namespace sluice

#endif  // SLUICE_ENGINE_CORE_ARENA_H_
