#include "engine/sqlite/Transaction.hpp"

#include "engine/sqlite/Database.hpp"

#include <sqlite3.h>

namespace cacheman::sqlite {

Transaction::Transaction(Database& db, Kind kind) : m_db(db) {
    m_db.exec(kind == Kind::write ? "BEGIN IMMEDIATE" : "BEGIN");
}

Transaction::~Transaction() {
    rollback();
}

void Transaction::rollback() noexcept {
    if (m_open) {
        sqlite3_exec(m_db.handle(), "ROLLBACK", nullptr, nullptr, nullptr);
        m_open = false;
    }
}

void Transaction::commit() {
    m_db.exec("COMMIT");
    m_open = false;
}

} // namespace cacheman::sqlite
