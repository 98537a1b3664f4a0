#include "engine/sqlite/Connection.hpp"

namespace cacheman::sqlite {

Connection::Connection(std::unique_ptr<Database> db, Clock clock)
    : m_db(std::move(db)), m_clock(std::move(clock)) {}

Statement& Connection::prepared(const std::string& sql) {
    if (auto found = m_statements.find(sql); found != m_statements.end()) {
        m_ages.splice(m_ages.begin(), m_ages, found->second.age);
        found->second.statement.reset();
        return found->second.statement;
    }
    if (m_statements.size() >= k_statements) {
        m_statements.erase(m_ages.back());
        m_ages.pop_back();
    }
    Statement statement(*m_db, sql);
    m_ages.push_front(sql);
    auto [inserted, _] = m_statements.emplace(sql, Cached{std::move(statement), m_ages.begin()});
    return inserted->second.statement;
}

void Connection::allow_large_transaction() {
    m_db->exec("PRAGMA cache_size = -32768");
}

void Connection::use_small_cache() {
    m_db->exec("PRAGMA cache_size = -8192");
}

} // namespace cacheman::sqlite
