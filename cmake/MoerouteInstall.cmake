# Install layout and package config, in the manner of fmt: an exported target set under the
# moeroute:: namespace and a config file that finds our dependencies for the consumer.
include(CMakePackageConfigHelpers)
set(MOEROUTE_CMAKE_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/moeroute")

install(TARGETS ${MOEROUTE_EXPORTED_TARGETS} EXPORT moerouteTargets
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(FILES ${MOEROUTE_PUBLIC_HEADERS} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/moeroute)
if(MOEROUTE_WITH_TORCH)
  install(FILES ${MOEROUTE_TORCH_PUBLIC_HEADERS} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/moeroute/torch)
endif()
install(FILES "${PROJECT_BINARY_DIR}/generated/moeroute/version.h"
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/moeroute)
install(TARGETS moeroute_cli RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(EXPORT moerouteTargets NAMESPACE moeroute:: DESTINATION ${MOEROUTE_CMAKE_DIR})

configure_package_config_file("${PROJECT_SOURCE_DIR}/cmake/moerouteConfig.cmake.in"
  "${PROJECT_BINARY_DIR}/moerouteConfig.cmake" INSTALL_DESTINATION ${MOEROUTE_CMAKE_DIR})
write_basic_package_version_file("${PROJECT_BINARY_DIR}/moerouteConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES "${PROJECT_BINARY_DIR}/moerouteConfig.cmake"
              "${PROJECT_BINARY_DIR}/moerouteConfigVersion.cmake"
        DESTINATION ${MOEROUTE_CMAKE_DIR})

# Build-tree export so a consumer can also use the build directory directly.
export(EXPORT moerouteTargets NAMESPACE moeroute:: FILE "${PROJECT_BINARY_DIR}/moerouteTargets.cmake")
