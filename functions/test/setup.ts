import "../../packages/aws/test/setup";

// EMF output of the metrics flush would drown the test report.
process.env.POWERTOOLS_METRICS_DISABLED = "true";
