#include "engine/sqlite/Cascade.hpp"

#include "base/Error.hpp"
#include "engine/sqlite/Transaction.hpp"

#include <algorithm>

namespace cacheman::sqlite {

Graph Cascade::graph() {
    return Graph(edges());
}

std::vector<Edge> Cascade::edges() {
    std::vector<Edge> out;
    auto& query = m_connection.prepared("SELECT parent, child FROM depends ORDER BY parent, child");
    while (query.step()) {
        out.push_back({std::string(query.column_text(0)), std::string(query.column_text(1))});
    }
    query.reset();
    return out;
}

void Cascade::depend(std::string_view parent, std::string_view child) {
    if (auto cycle = graph().cycle_if_added(std::string(parent), std::string(child))) {
        throw UsageError("dependency would close a cycle: " + format_path(*cycle));
    }
    m_catalog.ensure(parent);
    m_catalog.ensure(child);
    auto& insert =
        m_connection.prepared("INSERT OR IGNORE INTO depends(parent, child) VALUES(?, ?)");
    insert.bind(1, parent);
    insert.bind(2, child);
    insert.run();
}

bool Cascade::undepend(std::string_view parent, std::string_view child) {
    auto& remove = m_connection.prepared("DELETE FROM depends WHERE parent = ? AND child = ?");
    remove.bind(1, parent);
    remove.bind(2, child);
    remove.run();
    return m_connection.db().changes() > 0;
}

std::vector<std::string> Cascade::with_dependents(std::string_view cache) {
    std::vector<std::string> members{std::string(cache)};
    const auto dependents = graph().descendants(members.front());
    members.insert(members.end(), dependents.begin(), dependents.end());
    return members;
}

void Cascade::clear(CacheRow row, double when) {
    m_entries.clear(row);
    auto& mark = m_connection.prepared("UPDATE caches SET invalidated = ?, built = 0 WHERE id = ?");
    mark.bind(1, when);
    mark.bind(2, row.id);
    mark.run();
    m_catalog.next_generation(row);
    m_history.forget_edits(row);
}

std::vector<std::string> Cascade::clear_volatile_first(std::string_view cache,
                                                       const std::optional<std::string>& key,
                                                       bool include_root) {
    std::vector<std::string> cleared;
    if (!m_volatile.attached()) {
        return cleared;
    }
    Transaction tx(m_connection.db(), Transaction::Kind::write);
    const auto members = with_dependents(cache);
    for (std::size_t i = include_root ? 0 : 1; i < members.size(); ++i) {
        CacheRow row = m_catalog.existing(members[i]);
        if (!row.is_volatile) {
            continue;
        }
        if (i == 0 && key) {
            m_entries.remove(row, *key);
        } else {
            m_entries.clear(row);
        }
        cleared.push_back(members[i]);
    }
    tx.commit();
    return cleared;
}

bool Cascade::volatile_members_ready(const std::vector<std::string>& members,
                                     const std::vector<std::string>& cleared_first,
                                     bool include_root) {
    for (std::size_t i = 0; i < members.size(); ++i) {
        if (!m_catalog.existing(members[i]).is_volatile) {
            continue;
        }
        const bool to_clear = i > 0 || include_root;
        if (!m_volatile.attached() ||
            (to_clear && std::find(cleared_first.begin(), cleared_first.end(), members[i]) ==
                             cleared_first.end())) {
            return false;
        }
    }
    return true;
}

std::optional<std::vector<std::string>> Cascade::invalidate(std::string_view cache,
                                                            const std::optional<std::string>& key,
                                                            bool dry_run,
                                                            std::string_view command) {
    m_volatile.attach_if_any();
    if (dry_run) {
        Transaction tx(m_connection.db(), Transaction::Kind::read);
        if (!m_catalog.find(cache)) {
            return std::nullopt;
        }
        return with_dependents(cache);
    }
    while (true) {
        {
            Transaction probe(m_connection.db(), Transaction::Kind::read);
            if (!m_catalog.find(cache)) {
                return std::nullopt;
            }
        }
        const auto cleared_first = clear_volatile_first(cache, key, true);
        m_connection.allow_large_transaction();
        Transaction tx(m_connection.db(), Transaction::Kind::write);
        auto root = m_catalog.find(cache);
        if (!root) {
            return std::nullopt; // dropped in the meantime
        }
        const auto cleared = with_dependents(cache);
        if (!volatile_members_ready(cleared, cleared_first, true)) {
            // A cache became volatile since the first pass (another process): attach, again.
            tx.rollback();
            m_volatile.attach();
            continue;
        }
        const double when = m_connection.now();
        if (key) {
            m_entries.remove(*root, *key);
            // The root's entries are not all cleared, but it was invalidated: stamp it as such.
            auto& stamp = m_connection.prepared("UPDATE caches SET invalidated = ? WHERE id = ?");
            stamp.bind(1, when);
            stamp.bind(2, root->id);
            stamp.run();
            m_catalog.next_generation(*root);
        } else {
            clear(*root, when);
        }
        for (std::size_t i = 1; i < cleared.size(); ++i) {
            clear(m_catalog.existing(cleared[i]), when);
        }
        m_history.append_log(command, cache, cleared, when);
        tx.commit();
        return cleared;
    }
}

void Cascade::remove(std::string_view cache, CacheRow row) {
    auto& edges = m_connection.prepared("DELETE FROM depends WHERE parent = ?1 OR child = ?1");
    edges.bind(1, cache);
    edges.run();
    m_history.forget_edits(row);
    m_history.forget_lookup_counts(cache);
    m_entries.clear(row); // releases what its entries refer to
    m_catalog.remove(row);
}

std::optional<std::vector<std::string>> Cascade::drop(std::string_view cache) {
    m_volatile.attach_if_any();
    while (true) {
        {
            Transaction probe(m_connection.db(), Transaction::Kind::read);
            if (!m_catalog.find(cache)) {
                return std::nullopt;
            }
        }
        const auto cleared_first = clear_volatile_first(cache, std::nullopt, false);
        m_connection.allow_large_transaction();
        Transaction tx(m_connection.db(), Transaction::Kind::write);
        const auto root = m_catalog.find(cache);
        if (!root) {
            return std::nullopt;
        }
        const auto cleared = with_dependents(cache); // the cache itself first
        if (!volatile_members_ready(cleared, cleared_first, false)) {
            tx.rollback();
            m_volatile.attach();
            continue;
        }
        const std::vector<std::string> dependents(cleared.begin() + 1, cleared.end());
        const double when = m_connection.now();
        for (const auto& dependent : dependents) {
            clear(m_catalog.existing(dependent), when);
        }
        remove(cache, *root);
        m_history.append_log("drop", cache, cleared, when);
        tx.commit();
        return dependents;
    }
}

} // namespace cacheman::sqlite
