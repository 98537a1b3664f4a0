// Reading an import's input.
#pragma once

#include "base/MappedFile.hpp"
#include "base/Spool.hpp"

#include <optional>

#include <cstddef>
#include <string>
#include <string_view>

namespace cacheman::cli {

// An input read once from its start (an import file, or stdin for "-"), mapped into memory:
// the pages read are given back as reading moves on (release), so that memory stays bounded
// whatever its size. A regular file of this user is mapped where it is; anything else (a
// pipe, another user's file, which could shrink under the mapping) is first copied to an
// unlinked temporary file. Throws UsageError naming the input when it cannot be read.
class MappedInput {
  public:
    explicit MappedInput(const std::string& path);

    [[nodiscard]] std::string_view data() const;
    // The bytes before `read_up_to` (a pointer into data()) are not read again.
    void release(const char* read_up_to);

  private:
    void map(int fd, const std::string& name);
    Spool m_copy{0};
    std::optional<MappedFile> m_file;
};

} // namespace cacheman::cli
