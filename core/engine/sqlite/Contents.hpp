// The content-addressed contents that entries refer to (the files of `run --output`), and the
// entries' references to them (Schema.hpp, version 6). Works inside the transaction of the
// engine's call.
#pragma once

#include "engine/Engine.hpp"
#include "engine/sqlite/Catalog.hpp"
#include "engine/sqlite/Connection.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cacheman::sqlite {

class Contents {
  public:
    explicit Contents(Connection& connection) : m_connection(connection) {}

    // Keeps the `size` bytes read from `fd` (from its start) under `digest` unless it holds
    // them already, and pins the content until `pin_until` (unix seconds). Throws StoreError
    // when the bytes read are not `size` bytes that hash to `digest` (the file changed).
    void put(const std::string& digest, int fd, std::uint64_t size, double pin_until);
    // As put, with the bytes handed over by `read` (which throws when they cannot be read).
    using Reader = std::function<void(const engine::ChunkSink&)>;
    void put(const std::string& digest, std::uint64_t size, double pin_until, const Reader& read);
    // Hands the bytes kept under `digest` to `sink` in chunks; false when there are none.
    // Throws StoreError when they do not hash to `digest` (the store was damaged).
    bool read(const std::string& digest, const engine::ChunkSink& sink);

    // Records that the entry `key` of cache `cache_id` refers to each content. Throws
    // StoreError when one of them is not kept (it was removed meanwhile). Unpins them.
    void refer(std::int64_t cache_id, std::string_view key,
               const std::vector<std::string>& digests);
    // The contents the entry `key` of cache `cache_id` refers to, with their sizes and readers
    // (which read them in the caller's transaction).
    std::vector<engine::LargeValue> referred(std::int64_t cache_id, std::string_view key);
    // Forgets the references of one entry, or of every entry of a cache, removing the contents
    // nothing else refers to.
    void release(std::int64_t cache_id, std::string_view key);
    // Whether any entry of cache `cache_id` refers to a content.
    bool any_referred_by(std::int64_t cache_id);
    void release_all(std::int64_t cache_id);
    // Forgets the references of the cache's entries that no longer exist.
    void release_dangling(const CacheRow& row);
    // Removes every content that nothing refers to and whose pin has passed; returns how many
    // bytes it removed.
    std::int64_t sweep();

    // An SQL expression for the bytes of the entry in the row aliased `e` of cache `row`'s
    // table: its value's length and the sizes of the contents it refers to.
    static std::string entry_bytes(const CacheRow& row);

  private:
    // Deletes the references that `where` selects (cache_id = ?1, and key = ?2 when given);
    // returns the contents they named.
    std::vector<std::int64_t> take_references(const std::string& where, std::int64_t cache_id,
                                              std::optional<std::string_view> key);
    void remove_unreferenced(const std::vector<std::int64_t>& ids);
    void remove_chunks(const std::vector<std::int64_t>& ids);
    Connection& m_connection;
};

} // namespace cacheman::sqlite
