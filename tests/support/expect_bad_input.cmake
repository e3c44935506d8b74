# Runs `iotwin run FILE`; passes when it exits 2 and its message matches the
# regular expression on the file's first line ("# expect: REGEX"), which is
# matched against "FILE:LINE:COL: message" with FILE replaced by "FILE".
file(STRINGS ${FILE} first LIMIT_COUNT 1)
string(REGEX REPLACE "^# expect: " "" pattern "${first}")
execute_process(COMMAND ${IOTWIN} run ${FILE} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REPLACE "${FILE}" "FILE" err "${err}")
string(STRIP "${err}" err)
if(NOT rc EQUAL 2)
  message(FATAL_ERROR "exit status ${rc}, expected 2\n${out}${err}")
endif()
if(NOT err MATCHES "${pattern}")
  message(FATAL_ERROR "message\n  ${err}does not match\n  ${pattern}")
endif()
message(STATUS "ok: ${err}")
