// Bytes gathered before they are stored (a large value from stdin, a command's streams, stdin
// for `run --stdin`), hashed on the way: the hash is their content address (XXH3-128, as
// Hasher::raw). They stay in memory while there are at most `memory_limit` of them, then move to
// an unlinked private file (in $TMPDIR, else /tmp; a memory file only where no such file can be
// made), so that memory stays bounded whatever their size.
#pragma once

#include "base/Hash.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace cacheman {

class Spool {
  public:
    explicit Spool(std::size_t memory_limit);
    ~Spool();
    Spool(const Spool&) = delete;
    Spool& operator=(const Spool&) = delete;

    // Throws StoreError when no file can hold them.
    void append(std::string_view bytes);
    // Appends everything `fd` yields to its end. Throws UsageError naming `what` when it cannot
    // be read, StoreError when it cannot be held.
    void append_all(int fd, const std::string& what);

    [[nodiscard]] bool in_memory() const { return m_fd < 0; }
    // The bytes, while they are in memory.
    [[nodiscard]] const std::string& bytes() const { return m_memory; }
    // The bytes in a file, rewound to its start (moved there first when still in memory).
    int file();
    // Hands the bytes to `sink` from their start, in pieces. Throws StoreError when the file
    // cannot be read.
    void read(const std::function<void(std::string_view)>& sink);
    [[nodiscard]] std::uint64_t size() const { return m_size; }
    [[nodiscard]] std::string digest() const { return m_hasher.hex(); }

  private:
    void move_to_file();

    std::size_t m_memory_limit;
    std::string m_memory;
    int m_fd = -1;
    std::uint64_t m_size = 0;
    Hasher m_hasher;
};

} // namespace cacheman
