# `iotwin import --report` checked against the simulation: every attack
# scenario the verdict writes must run and pass (`iotwin check`), that is,
# each peer-to-peer path the report claims is one the simulated fabric takes,
# and each expected violation happens.
#   cmake -DIOTWIN=... -DLISTING=... -DOUT=dir -DEXPECT=regex -DATTACKS=n -P expect_report.cmake
get_filename_component(name ${LISTING} NAME_WE)
set(dir ${OUT}/${name}-report-attacks)
file(REMOVE_RECURSE ${dir})
execute_process(COMMAND ${IOTWIN} import ${LISTING} --report --attacks ${dir} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "iotwin import --report ${LISTING}: exit ${rc}: ${err}")
endif()
if(NOT out MATCHES "${EXPECT}")
  message(FATAL_ERROR "iotwin import --report ${LISTING}: no match for '${EXPECT}' in:\n${out}")
endif()
file(GLOB attacks ${dir}/*.yaml)
list(LENGTH attacks count)
if(NOT count EQUAL ${ATTACKS})
  message(FATAL_ERROR "iotwin import --report ${LISTING}: ${count} attack scenarios written, expected ${ATTACKS}")
endif()
# Every file the report names exists.
string(REGEX MATCHALL "attack: [^\n]+" named "${out}")
foreach(line ${named})
  string(REPLACE "attack: " "" path "${line}")
  if(NOT EXISTS ${path})
    message(FATAL_ERROR "the report names ${path}, which was not written")
  endif()
endforeach()
if(count GREATER 0)
  execute_process(COMMAND ${IOTWIN} check -j 2 ${dir} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "iotwin check ${dir}: exit ${rc}:\n${out}\n${err}")
  endif()
endif()
