# cmake/compiler_fingerprint.cmake on a scratch tree: the fingerprint changes
# when a compiler source's content or name changes, and only then.
# Run as: cmake -DSCRIPT=<the script> -DWORK=<scratch folder> -P this file
file(REMOVE_RECURSE "${WORK}")
file(WRITE "${WORK}/compiler/codegen/emit.cpp" "int emit() { return 1; }\n")
file(WRITE "${WORK}/compiler/ir/expr.h" "#pragma once\n")
file(WRITE "${WORK}/runtime/kernel_cache.cpp" "// not the compiler\n")

function(fingerprint result)
  execute_process(COMMAND "${CMAKE_COMMAND}" -DROOT=${WORK} -DOUT=${WORK}/out.h -P "${SCRIPT}"
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "the fingerprint script failed: ${rc}")
  endif()
  file(STRINGS "${WORK}/out.h" line REGEX "LOSSCC_COMPILER_FINGERPRINT \"[0-9a-f]+\"")
  if(NOT line)
    message(FATAL_ERROR "no LOSSCC_COMPILER_FINGERPRINT in the header")
  endif()
  set(${result} "${line}" PARENT_SCOPE)
endfunction()

fingerprint(first)
fingerprint(again)
if(NOT first STREQUAL again)
  message(FATAL_ERROR "unchanged sources, changed fingerprint: ${first} / ${again}")
endif()

file(WRITE "${WORK}/runtime/kernel_cache.cpp" "// still not the compiler\n")
fingerprint(outside)
if(NOT first STREQUAL outside)
  message(FATAL_ERROR "a file outside compiler/ changed the fingerprint")
endif()

file(WRITE "${WORK}/compiler/codegen/emit.cpp" "int emit() { return 2; }\n")
fingerprint(edited)
if(first STREQUAL edited)
  message(FATAL_ERROR "an edited compiler source kept the fingerprint: ${first}")
endif()

file(RENAME "${WORK}/compiler/ir/expr.h" "${WORK}/compiler/ir/node.h")
fingerprint(renamed)
if(edited STREQUAL renamed)
  message(FATAL_ERROR "a renamed compiler source kept the fingerprint: ${edited}")
endif()
message(STATUS "fingerprints: ${first} ${edited} ${renamed}")
