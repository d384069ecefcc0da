# Writes a tool's man page from its --help text (run by cli/CMakeLists.txt at build time):
#   cmake -DTOOL=<executable> -DNAME=odpenc -DSUMMARY="..." -DVERSION=0.1.0 -DOUT=<file.1> -P man_page.cmake
# The help text is the one description of the flags, so the page cannot drift from it.
execute_process(COMMAND ${TOOL} --help OUTPUT_VARIABLE help RESULT_VARIABLE status)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "${TOOL} --help failed (${status})")
endif()
string(REGEX MATCH "^usage: [^\n]*" usage "${help}")
string(REGEX REPLACE "^usage: [^\n]*\n" "" body "${help}")
string(REPLACE "usage: " "" usage "${usage}")
# roff: a backslash is written \e; a line starting with . or ' would be a request, \& guards it; "-" as \-
# keeps options copyable.
foreach(var usage body)
  string(REPLACE "\\" "\\e" ${var} "${${var}}")
  string(REPLACE "-" "\\-" ${var} "${${var}}")
  string(REGEX REPLACE "\n([.'])" "\n\\\\&\\1" ${var} "${${var}}")
endforeach()
string(TOUPPER "${NAME}" upper)
file(WRITE "${OUT}" ".TH ${upper} 1 \"\" \"odp ${VERSION}\" \"User Commands\"
.SH NAME
${NAME} \\- ${SUMMARY}
.SH SYNOPSIS
.nf
${usage}
.fi
.SH DESCRIPTION
.nf
${body}
.fi
.SH SEE ALSO
odpenc(1), odpdec(1), odptrunc(1), odpinfo(1)
")
