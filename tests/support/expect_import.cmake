# `iotwin import` from the README user's point of view: the listing of a real
# machine becomes a scenario file that `iotwin groups` reads; the groups name
# the machine's functions by the ids the importer gave them.
#   cmake -DIOTWIN=... -DLISTING=... -DOUT=dir -DEXPECT=regex -P expect_import.cmake
get_filename_component(name ${LISTING} NAME)
set(yaml ${OUT}/${name}.yaml)
execute_process(COMMAND ${IOTWIN} import ${LISTING} -o ${yaml} RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "iotwin import ${LISTING}: exit ${rc}: ${err}")
endif()
execute_process(COMMAND ${IOTWIN} groups ${yaml} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "iotwin groups ${yaml}: exit ${rc}: ${err}")
endif()
if(NOT out MATCHES "${EXPECT}")
  message(FATAL_ERROR "iotwin groups ${yaml}: no match for '${EXPECT}' in:\n${out}")
endif()
