# MongoDB-compatible test server for swefreq-load (FerretDB + SQLite, see README.md).
#
# include() this file from tests/CMakeLists.txt (after enable_testing()).
#
# Results:
#   SFL_MONGO_TESTS       ON if MongoDB tests can run (own server or SWEFREQ_TEST_URI).
#   SFL_HAVE_TEST_SERVER  ON if the FerretDB test server is built and started by CTest.
#   SFL_TEST_URI          the external URI when SWEFREQ_TEST_URI was set at configure time.
#   SFL_TEST_SERVER_BIN   path of the server binary (target swefreq_testserver).
#   SFL_MONGO_STATE_DIR   ${CMAKE_BINARY_DIR}/mongo-test (pid, port, uri, server.log, data/).
#   target mongo_ping     tiny libmongoc program: mongo_ping URI -> exit 0 if hello works.
#   tests mongo_server_start / mongo_server_stop: fixture "mongo_server", label "mongo".
#
# Function:
#   sfl_add_mongo_test(NAME <name> COMMAND <cmd> [<arg>...]
#                      [WORKING_DIRECTORY <dir>] [TIMEOUT <seconds>]
#                      [LABELS <label>...] [ENVIRONMENT <VAR=value>...]
#                      [RESTARTS_SERVER])
#   Registers a test that needs the server. The test gets
#     SWEFREQ_TEST_URI_FILE   file holding the URI (own server), or
#     SWEFREQ_TEST_URI        the URI itself (external server, no fixture),
#   and, with the own server, SWEFREQ_TEST_SERVER_DIR (state folder),
#   SWEFREQ_TEST_SERVER_BIN, SWEFREQ_TEST_PING_BIN and
#   SWEFREQ_TEST_RESTART_SCRIPT (see restart.sh) so that a test can kill the
#   server (kill -KILL $(cat $SWEFREQ_TEST_SERVER_DIR/pid)) and restart it.
#   RESTARTS_SERVER marks such a test RUN_SERIAL; with an external server it
#   is not registered at all. Exit code 77 means "skipped" for all mongo tests.
#   When no server is available the function only prints (once) that MongoDB
#   tests are skipped.

include_guard(GLOBAL)

set(SFL_TEST_SERVER_SRC_DIR "${CMAKE_CURRENT_LIST_DIR}")
set(SFL_MONGO_STATE_DIR "${CMAKE_BINARY_DIR}/mongo-test")
set(SFL_TEST_SERVER_BIN "${CMAKE_BINARY_DIR}/swefreq-testserver")
set(SFL_MONGO_TESTS OFF)
set(SFL_HAVE_TEST_SERVER OFF)
set(SFL_TEST_URI "")
set(_sfl_mongo_skip_reason "")

# --- Where do the tests get their server from? -----------------------------
if(NOT "$ENV{SWEFREQ_TEST_URI}" STREQUAL "")
  set(SFL_TEST_URI "$ENV{SWEFREQ_TEST_URI}")
  set(SFL_MONGO_TESTS ON)
  message(STATUS "MongoDB tests use SWEFREQ_TEST_URI=${SFL_TEST_URI} (no test server is built)")
else()
  find_program(GO_EXECUTABLE go PATHS /usr/local/go/bin)
  find_program(SFL_BASH_EXECUTABLE bash)
  if(NOT GO_EXECUTABLE)
    set(_sfl_mongo_skip_reason "Go not found")
    message(STATUS "Go not found: mongo tests will be skipped")
  elseif(NOT SFL_BASH_EXECUTABLE)
    set(_sfl_mongo_skip_reason "bash not found")
    message(STATUS "bash not found: mongo tests will be skipped")
  else()
    execute_process(COMMAND "${GO_EXECUTABLE}" env GOVERSION
                    OUTPUT_VARIABLE _sfl_go_version
                    OUTPUT_STRIP_TRAILING_WHITESPACE
                    RESULT_VARIABLE _sfl_go_rc
                    ERROR_QUIET)
    string(REGEX REPLACE "^go([0-9]+\\.[0-9]+(\\.[0-9]+)?).*$" "\\1" _sfl_go_version_num "${_sfl_go_version}")
    if(NOT _sfl_go_rc EQUAL 0 OR NOT _sfl_go_version_num MATCHES "^[0-9]")
      set(_sfl_mongo_skip_reason "cannot run ${GO_EXECUTABLE}")
      message(STATUS "Cannot run ${GO_EXECUTABLE}: mongo tests will be skipped")
    elseif(_sfl_go_version_num VERSION_LESS 1.24)
      set(_sfl_mongo_skip_reason "Go ${_sfl_go_version_num} is older than 1.24")
      message(STATUS "Go ${_sfl_go_version_num} found, FerretDB needs >= 1.24: mongo tests will be skipped")
    else()
      message(STATUS "Go ${_sfl_go_version_num} found: MongoDB tests use a FerretDB test server")
      set(SFL_HAVE_TEST_SERVER ON)
      set(SFL_MONGO_TESTS ON)
    endif()
  endif()
endif()

# --- mongo_ping (needs libmongoc) -------------------------------------------
if(SFL_MONGO_TESTS)
  set(_sfl_mongoc_target "")
  if(TARGET PkgConfig::MONGOC)
    set(_sfl_mongoc_target PkgConfig::MONGOC)
  else()
    find_package(PkgConfig QUIET)
    if(PkgConfig_FOUND)
      pkg_check_modules(SFL_PING_MONGOC QUIET IMPORTED_TARGET libmongoc-1.0)
      if(SFL_PING_MONGOC_FOUND)
        set(_sfl_mongoc_target PkgConfig::SFL_PING_MONGOC)
      endif()
    endif()
    if(NOT _sfl_mongoc_target)
      find_package(mongoc-1.0 CONFIG QUIET)
      if(TARGET mongo::mongoc_shared)
        set(_sfl_mongoc_target mongo::mongoc_shared)
      endif()
    endif()
  endif()

  if(NOT _sfl_mongoc_target)
    set(SFL_MONGO_TESTS OFF)
    set(SFL_HAVE_TEST_SERVER OFF)
    set(_sfl_mongo_skip_reason "libmongoc-1.0 not found")
    message(STATUS "libmongoc-1.0 not found: mongo tests will be skipped")
  else()
    add_executable(mongo_ping "${SFL_TEST_SERVER_SRC_DIR}/mongo_ping.c")
    target_link_libraries(mongo_ping PRIVATE ${_sfl_mongoc_target})
    set_target_properties(mongo_ping PROPERTIES
      C_STANDARD 11
      C_STANDARD_REQUIRED ON
      C_EXTENSIONS OFF
      RUNTIME_OUTPUT_DIRECTORY "${CMAKE_BINARY_DIR}")
    if(CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
      target_compile_options(mongo_ping PRIVATE -Wall -Wextra)
    endif()
  endif()
endif()

# --- The FerretDB server and the fixture -------------------------------------
if(SFL_HAVE_TEST_SERVER)
  # GOFLAGS is set explicitly so that a GOFLAGS from the environment cannot
  # interfere; -buildvcs=false because the source tree may be a git checkout
  # without commits (VCS stamping would fail). GOTOOLCHAIN=local: never
  # download a toolchain. GOCACHE/GOPATH/GOPROXY stay at Go's defaults.
  add_custom_command(
    OUTPUT "${SFL_TEST_SERVER_BIN}"
    COMMAND "${CMAKE_COMMAND}" -E env GOFLAGS=-mod=mod GOTOOLCHAIN=local
            "${GO_EXECUTABLE}" build -buildvcs=false -trimpath -o "${SFL_TEST_SERVER_BIN}" .
    WORKING_DIRECTORY "${SFL_TEST_SERVER_SRC_DIR}"
    DEPENDS "${SFL_TEST_SERVER_SRC_DIR}/main.go"
            "${SFL_TEST_SERVER_SRC_DIR}/proxy.go"
            "${SFL_TEST_SERVER_SRC_DIR}/faults.go"
            "${SFL_TEST_SERVER_SRC_DIR}/go.mod"
            "${SFL_TEST_SERVER_SRC_DIR}/go.sum"
    COMMENT "Building FerretDB test server (first build: module download + ~1.5 min compile)"
    USES_TERMINAL
    VERBATIM)
  add_custom_target(swefreq_testserver ALL DEPENDS "${SFL_TEST_SERVER_BIN}")

  add_test(NAME mongo_server_start
           COMMAND "${SFL_BASH_EXECUTABLE}" "${SFL_TEST_SERVER_SRC_DIR}/start.sh"
                   "${SFL_MONGO_STATE_DIR}" "${SFL_TEST_SERVER_BIN}" "$<TARGET_FILE:mongo_ping>")
  set_tests_properties(mongo_server_start PROPERTIES
    FIXTURES_SETUP mongo_server
    LABELS mongo
    TIMEOUT 180)

  add_test(NAME mongo_server_stop
           COMMAND "${SFL_BASH_EXECUTABLE}" "${SFL_TEST_SERVER_SRC_DIR}/stop.sh"
                   "${SFL_MONGO_STATE_DIR}")
  set_tests_properties(mongo_server_stop PROPERTIES
    FIXTURES_CLEANUP mongo_server
    LABELS mongo
    TIMEOUT 60)
endif()

# Escape ';' so that a value survives the ENVIRONMENT list property.
function(_sfl_env_escape out value)
  string(REPLACE ";" "\\;" value "${value}")
  set(${out} "${value}" PARENT_SCOPE)
endfunction()

function(sfl_add_mongo_test)
  cmake_parse_arguments(PARSE_ARGV 0 ARG "RESTARTS_SERVER" "NAME;WORKING_DIRECTORY;TIMEOUT"
                        "COMMAND;LABELS;ENVIRONMENT")
  if(NOT ARG_NAME OR NOT ARG_COMMAND)
    message(FATAL_ERROR "sfl_add_mongo_test: NAME and COMMAND are required")
  endif()
  if(ARG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "sfl_add_mongo_test(${ARG_NAME}): unexpected arguments: ${ARG_UNPARSED_ARGUMENTS}")
  endif()

  if(NOT SFL_MONGO_TESTS)
    get_property(_told GLOBAL PROPERTY SFL_MONGO_SKIP_TOLD)
    if(NOT _told)
      set_property(GLOBAL PROPERTY SFL_MONGO_SKIP_TOLD TRUE)
      message(STATUS "MongoDB tests are skipped (${_sfl_mongo_skip_reason}); "
                     "set SWEFREQ_TEST_URI or install Go >= 1.24 to run them")
    endif()
    return()
  endif()

  if(ARG_RESTARTS_SERVER AND NOT SFL_HAVE_TEST_SERVER)
    message(STATUS "Test ${ARG_NAME} needs the own test server (it restarts it): skipped with SWEFREQ_TEST_URI")
    return()
  endif()

  if(ARG_WORKING_DIRECTORY)
    add_test(NAME ${ARG_NAME} COMMAND ${ARG_COMMAND} WORKING_DIRECTORY "${ARG_WORKING_DIRECTORY}")
  else()
    add_test(NAME ${ARG_NAME} COMMAND ${ARG_COMMAND})
  endif()

  set(_env ${ARG_ENVIRONMENT})
  set(_env_mod "")
  if(SFL_HAVE_TEST_SERVER)
    list(APPEND _env
      "SWEFREQ_TEST_URI_FILE=${SFL_MONGO_STATE_DIR}/uri"
      "SWEFREQ_TEST_SERVER_DIR=${SFL_MONGO_STATE_DIR}"
      "SWEFREQ_TEST_SERVER_BIN=${SFL_TEST_SERVER_BIN}"
      "SWEFREQ_TEST_PING_BIN=$<TARGET_FILE:mongo_ping>"
      "SWEFREQ_TEST_RESTART_SCRIPT=${SFL_TEST_SERVER_SRC_DIR}/restart.sh")
    # A SWEFREQ_TEST_URI present only when ctest runs must not win over
    # the fixture's server.
    if(NOT CMAKE_VERSION VERSION_LESS 3.22)
      list(APPEND _env_mod "SWEFREQ_TEST_URI=unset:")
    endif()
    set_tests_properties(${ARG_NAME} PROPERTIES FIXTURES_REQUIRED mongo_server)
  else()
    _sfl_env_escape(_uri "${SFL_TEST_URI}")
    list(APPEND _env "SWEFREQ_TEST_URI=${_uri}")
  endif()

  set(_labels mongo ${ARG_LABELS})
  list(REMOVE_DUPLICATES _labels)
  set_tests_properties(${ARG_NAME} PROPERTIES
    ENVIRONMENT "${_env}"
    LABELS "${_labels}"
    SKIP_RETURN_CODE 77)
  if(_env_mod)
    set_tests_properties(${ARG_NAME} PROPERTIES ENVIRONMENT_MODIFICATION "${_env_mod}")
  endif()
  if(ARG_TIMEOUT)
    set_tests_properties(${ARG_NAME} PROPERTIES TIMEOUT ${ARG_TIMEOUT})
  endif()
  if(ARG_RESTARTS_SERVER)
    set_tests_properties(${ARG_NAME} PROPERTIES RUN_SERIAL TRUE)
  endif()
endfunction()
