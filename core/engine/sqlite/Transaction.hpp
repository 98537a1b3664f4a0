// RAII transaction: BEGIN IMMEDIATE for writers (so the write lock is taken up front and the busy
// timeout applies), BEGIN DEFERRED for readers. Rolls back in the destructor unless committed;
// never throws from the destructor.
#pragma once

namespace cacheman::sqlite {

class Database;

class Transaction {
  public:
    enum class Kind { read, write };

    Transaction(Database& db, Kind kind);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    void commit();
    // Ends the transaction now without changing anything (what the destructor would do).
    void rollback() noexcept;

  private:
    Database& m_db;
    bool m_open = true;
};

} // namespace cacheman::sqlite
