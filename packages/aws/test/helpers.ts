/** An SDK service error as the client throws it: `name` is the AWS error code. */
export function awsError(
  name: string,
  message = name,
  fault: "client" | "server" = "client",
): Error {
  return Object.assign(new Error(message), {
    name,
    $fault: fault,
    $metadata: { httpStatusCode: fault === "client" ? 400 : 503 },
  });
}
