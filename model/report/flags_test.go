package report_test

import "flag"

var keep = flag.String("keep", "", "write a screenshot of the rendered report to this PNG path")
