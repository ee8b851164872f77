"""The staff web app: sign-in, my alerts, acknowledgement, a subject's chronology, on call and escalation policy."""
