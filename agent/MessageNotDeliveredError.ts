/**
 * Rejection of AgentSession.send(): the server did not queue the message on
 * the receiver's stream, or the sender lost its stream before the server
 * sent a MessageResult. In that case the message may or may not have been
 * delivered.
 */
export class MessageNotDeliveredError extends Error {
  override readonly name = 'MessageNotDeliveredError';

  constructor(
    /**
     * gRPC status code name: NOT_FOUND (unknown agent), UNAVAILABLE (receiver
     * or sender not connected), RESOURCE_EXHAUSTED (receiver's queue full),
     * or another code name the server sends.
     */
    readonly code: string,
    message: string,
    /** Id of the agent the message was for. */
    readonly toAgentId: string,
  ) {
    super(message);
  }
}
