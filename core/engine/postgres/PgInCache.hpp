// PgEngine::in_cache, for the files that implement PgEngine's calls (not a public header).
#pragma once

#include "base/Error.hpp"
#include "base/Names.hpp"
#include "engine/postgres/PgEngine.hpp"

namespace cacheman::postgres {

inline engine::Generation generation_of(const std::optional<CacheRow>& row) {
    return row ? engine::Generation{row->id, row->generation} : engine::Generation{};
}

template <class Body>
auto PgEngine::in_cache(std::string_view cache, PgTransaction::Kind kind, bool create,
                        engine::Access access, const std::optional<engine::Generation>& only_if,
                        Body&& body) -> engine::Result<decltype(body(std::declval<CacheRow&>()))> {
    using Value = decltype(body(std::declval<CacheRow&>()));
    validate_cache_name(cache);
    try {
        PgTransaction tx(*m_connection, kind);
        if (kind == PgTransaction::Kind::write) {
            write_lock();
        }
        std::optional<CacheRow> row = find_cache(cache);
        if (only_if && *only_if != engine::Generation{} && generation_of(row) != *only_if) {
            return {engine::Status::changed, Value{}};
        }
        if (!row && create) {
            row = ensure_cache(cache);
        }
        if (!row) {
            return {engine::Status::no_cache, Value{}};
        }
        if (access == engine::Access::built && row->needs_build) {
            return {engine::Status::unbuilt, Value{}};
        }
        Value value = body(*row);
        tx.commit();
        return {engine::Status::ok, std::move(value)};
    } catch (const StoreError& error) {
        if (kind == PgTransaction::Kind::write) {
            m_namespace_id.reset(); // it may have been made by what was rolled back
        }
        rethrow_with_context(error, std::string(kind == PgTransaction::Kind::write
                                                    ? "cannot write cache "
                                                    : "cannot read cache ") +
                                        quoted_for_message(cache) + ": ");
    }
}

} // namespace cacheman::postgres
