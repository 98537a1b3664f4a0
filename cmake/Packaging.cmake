# CPack: a Debian package of what `cmake --install` installs (the binary, its man page and the
# bash, zsh and fish completions, plus the C++ library's files).
#   cmake --build build && (cd build && cpack -G DEB)   ->  build/cacheman_<version>_<arch>.deb
# The binary is linked statically (CACHEMAN_STATIC), so the package depends on nothing.
#
# This file is read twice: by the top-level CMakeLists.txt (configuration, below), and by cpack
# itself as a pre-build script, after it has installed into its staging directory and before it
# builds the package (the first block): there it adjusts the tree to Debian's layout.

if(DEFINED CPACK_TEMPORARY_DIRECTORY)
    if(CPACK_GENERATOR STREQUAL "DEB")
        set(_root "${CPACK_TEMPORARY_DIRECTORY}${CPACK_PACKAGING_INSTALL_PREFIX}")
        # Debian's zsh searches /usr/local/share/zsh/site-functions, but under /usr only
        # share/zsh/vendor-completions (where Debian's packages put their completions).
        set(_zsh_site "${_root}/share/zsh/site-functions")
        set(_zsh_vendor "${_root}/share/zsh/vendor-completions")
        if(CPACK_PACKAGING_INSTALL_PREFIX STREQUAL "/usr" AND EXISTS "${_zsh_site}/_cacheman")
            file(MAKE_DIRECTORY "${_zsh_vendor}")
            file(RENAME "${_zsh_site}/_cacheman" "${_zsh_vendor}/_cacheman")
            file(GLOB _left "${_zsh_site}/*")
            if(NOT _left)
                file(REMOVE_RECURSE "${_zsh_site}")
            endif()
        endif()
        # Debian policy: manual pages are compressed with gzip -9n.
        find_program(_gzip gzip)
        set(_man "${_root}/share/man/man1/cacheman.1")
        if(_gzip AND EXISTS "${_man}")
            execute_process(COMMAND "${_gzip}" -9nf "${_man}" RESULT_VARIABLE _gzip_status)
            if(NOT _gzip_status EQUAL 0)
                message(FATAL_ERROR "gzip ${_man} failed: ${_gzip_status}")
            endif()
        endif()
    endif()
    return()
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME cacheman)
set(CPACK_PACKAGE_VENDOR "cacheman")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "cacheman maintainers <maintainers@users.noreply.r-seed-28fa8404.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "dependent cache manager for the command line, over SQLite")
# The extended description: lines of at most 80 columns (CPack indents them for the control file).
string(JOIN "\n" CPACK_PACKAGE_DESCRIPTION
    "cacheman keeps named caches of key -> value in one SQLite file per namespace,"
    "and records which cache is computed from which: invalidating a cache clears"
    "every cache that depends on it, in one transaction. It memoizes shell steps"
    "(cacheman run), runs hooks that build, load and save caches, and shows what"
    "is cached, why a cache would be cleared and what an invalidation cleared.")
set(CPACK_STRIP_FILES ON)
set(CPACK_PRE_BUILD_SCRIPTS ${CMAKE_CURRENT_LIST_FILE})

# Debian specifics. Installed under /usr, named <name>_<version>_<arch>.deb as Debian names them.
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${CPACK_PACKAGE_CONTACT}")
set(CPACK_DEBIAN_PACKAGE_SECTION utils)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
if(CACHEMAN_STATIC)
    set(CPACK_DEBIAN_PACKAGE_DEPENDS "")
    set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS OFF)
else()
    # A dynamic build links the system's SQLite: let dpkg-shlibdeps name the libraries.
    set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
endif()

# `make package_source`: the sources without build trees and VCS data.
set(CPACK_SOURCE_GENERATOR TGZ)
set(CPACK_SOURCE_IGNORE_FILES "/\\\\.git/" "/build[^/]*/" "/__pycache__/" "\\\\.pyc$")

include(CPack)
