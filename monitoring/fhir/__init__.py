"""FHIR R4 export: readings as Observations on the vital-signs profile, alerts as Flags."""
