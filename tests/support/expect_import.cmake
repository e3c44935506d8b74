# `iotwin import` from the README user's point of view: the listing of a real
# machine becomes a scenario file that `iotwin groups` reads; the groups name
# the machine's functions by the ids the importer gave them.
# With -DTREE=1, `iotwin lspci -t` reads it instead: the simulated platform
# shows the machine's tree.
#   cmake -DIOTWIN=... -DLISTING=... -DOUT=dir -DEXPECT=regex [-DTREE=1] -P expect_import.cmake
get_filename_component(name ${LISTING} NAME)
set(yaml ${OUT}/${name}.yaml)
if(TREE)
  set(yaml ${OUT}/${name}.tree.yaml)  # apart from the groups test of the same listing, which may run alongside
endif()
execute_process(COMMAND ${IOTWIN} import ${LISTING} -o ${yaml} RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "iotwin import ${LISTING}: exit ${rc}: ${err}")
endif()
if(TREE)
  set(view lspci ${yaml} -t)
else()
  set(view groups ${yaml})
endif()
string(REPLACE ";" " " shown "${view}")
execute_process(COMMAND ${IOTWIN} ${view} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "iotwin ${shown}: exit ${rc}: ${err}")
endif()
if(NOT out MATCHES "${EXPECT}")
  message(FATAL_ERROR "iotwin ${shown}: no match for '${EXPECT}' in:\n${out}")
endif()
