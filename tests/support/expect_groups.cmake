# Runs `iotwin groups FILE --format json` and compares the groups with the
# hand-written EXPECTED file: one line per group, in order of the group's
# lowest BDF, each line the group's BDFs sorted and separated by spaces.
# Lines starting with '#' and blank lines in EXPECTED are ignored.
# Also checks the JSON contract: ids count from 0 in order, and `reason` is
# non-empty exactly for the groups with more than one device.
#
#   cmake -DIOTWIN=... -DFILE=scenario.yaml -DEXPECTED=file.expected -P expect_groups.cmake
foreach(var IOTWIN FILE EXPECTED)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "expect_groups.cmake needs -D${var}=...")
  endif()
endforeach()

execute_process(COMMAND ${IOTWIN} groups ${FILE} --format json
                RESULT_VARIABLE rc OUTPUT_VARIABLE json ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "`iotwin groups ${FILE} --format json` exited with ${rc}\n${json}${err}")
endif()

string(JSON ngroups ERROR_VARIABLE jerr LENGTH "${json}" groups)
if(jerr)
  message(FATAL_ERROR "output is not the expected JSON (${jerr}):\n${json}")
endif()

set(actual "")
set(problems "")
if(ngroups GREATER 0)
  math(EXPR last "${ngroups} - 1")
  foreach(g RANGE ${last})
    string(JSON id GET "${json}" groups ${g} id)
    if(NOT id EQUAL g)
      string(APPEND problems "group at position ${g} has id ${id}\n")
    endif()
    string(JSON ndev LENGTH "${json}" groups ${g} devices)
    set(bdfs "")
    set(names "")
    if(ndev GREATER 0)
      math(EXPR dlast "${ndev} - 1")
      foreach(d RANGE ${dlast})
        string(JSON bdf GET "${json}" groups ${g} devices ${d} bdf)
        string(JSON name GET "${json}" groups ${g} devices ${d} id)
        list(APPEND bdfs "${bdf}")
        list(APPEND names "${name}")
      endforeach()
    else()
      string(APPEND problems "group ${id} has no devices\n")
    endif()
    list(SORT bdfs)
    list(JOIN bdfs " " line)
    string(APPEND actual "${line}\n")
    string(JSON reason ERROR_VARIABLE rerr GET "${json}" groups ${g} reason)
    if(rerr)
      string(APPEND problems "group ${id} has no reason field\n")
    elseif(ndev GREATER 1 AND reason STREQUAL "")
      string(APPEND problems "group ${id} (${line}) has ${ndev} devices but an empty reason\n")
    elseif(ndev EQUAL 1 AND NOT reason STREQUAL "")
      string(APPEND problems "group ${id} (${line}) is a singleton but has a reason: ${reason}\n")
    endif()
  endforeach()
endif()

# The expected file, without comments and blank lines, whitespace normalised.
file(STRINGS ${EXPECTED} lines)
set(expected "")
foreach(l IN LISTS lines)
  string(STRIP "${l}" l)
  if(l STREQUAL "" OR l MATCHES "^#")
    continue()
  endif()
  string(REGEX REPLACE "[ \t]+" " " l "${l}")
  string(APPEND expected "${l}\n")
endforeach()

if(NOT actual STREQUAL expected)
  string(APPEND problems "groups differ\n--- expected (${EXPECTED})\n${expected}--- iotwin groups\n${actual}")
endif()
if(problems)
  # Printed verbatim (FATAL_ERROR would reflow the lines).
  message(NOTICE "${FILE}:\n${problems}")
  message(FATAL_ERROR "iotwin groups does not give the expected groups")
endif()
message(STATUS "ok: ${ngroups} groups as expected")
