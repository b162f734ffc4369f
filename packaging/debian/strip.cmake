# Run by cpack (CPACK_PRE_BUILD_SCRIPTS) on the staged tree, after CPACK_STRIP_FILES has
# stripped the binary: drops the sections it does not need either (the compiler's
# identification, notes), as dh_strip does; lintian reports them (binary-has-unneeded-section).
set(binary
    ${CPACK_TEMPORARY_INSTALL_DIRECTORY}${CPACK_PACKAGING_INSTALL_PREFIX}/bin/appstream-agent-reconciler)
execute_process(COMMAND ${CPACK_RECONCILER_STRIP} --remove-section=.comment --remove-section=.note
                        ${binary}
                RESULT_VARIABLE result)
if(NOT result EQUAL 0)
  message(FATAL_ERROR "strip --remove-section ${binary} failed: ${result}")
endif()
