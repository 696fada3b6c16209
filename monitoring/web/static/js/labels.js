// Words for what the API sends as codes: units (UCUM), device kinds, conditions, series and alert types.
// The code stays available (a title, the API); people read the label.

const UNITS = {
  "Cel": "°C", "[degF]": "°F", "mm[Hg]": "mmHg", "[lb_av]": "lb", "/min": "/min", "/d": "steps/day",
  "mg/dL": "mg/dL", "mmol/L": "mmol/L", "%": "%", "kg": "kg",
};

const KINDS = {
  wearable: "Wearable", bp_cuff: "Blood pressure cuff", cgm: "Continuous glucose monitor",
  glucometer: "Glucose meter", scale: "Scale", pulse_oximeter: "Pulse oximeter", thermometer: "Thermometer",
};

const CONDITIONS = {
  hypertension: "Hypertension", type1_diabetes: "Type 1 diabetes", type2_diabetes: "Type 2 diabetes",
  heart_failure: "Heart failure", copd: "COPD", atrial_fibrillation: "Atrial fibrillation",
};

const SERIES = {
  heart_rate: "Heart rate", respiratory_rate: "Respiratory rate", spo2: "SpO2", bp_systolic: "Systolic BP",
  bp_diastolic: "Diastolic BP", body_temperature: "Body temperature", skin_temperature: "Skin temperature",
  body_weight: "Body weight", glucose_cgm: "CGM glucose", glucose_meter: "Meter glucose", steps: "Steps",
};

const ALERTS = {
  "glucose.low": "Low glucose", "glucose.predicted_low": "Low glucose predicted",
  "glucose.high_extended": "Extended high glucose", "bp.crisis": "Hypertensive crisis",
  "hf.weight_gain": "Weight gain (fluid)", "news2": "NEWS2 early warning",
  "arrhythmia.rapid_irregular": "Rapid irregular heart rate", "personal.spo2_drop": "SpO2 below usual",
  "personal.febrile_pattern": "Possible fever (wearable)", "personal.deterioration": "Deterioration from usual",
  "personal.departure": "Departure from usual",
};

const humanise = (code) => code.replaceAll("_", " ").replace(/^./, (c) => c.toUpperCase());

export const unitLabel = (unit) => UNITS[unit] ?? unit;
export const kindLabel = (kind) => KINDS[kind] ?? humanise(kind);
export const conditionLabel = (condition) => CONDITIONS[condition] ?? humanise(condition);
export const seriesLabel = (series) => SERIES[series] ?? humanise(series);

// "threshold.heart_rate.low" -> "Heart rate low", "device.data_gap.cgm" -> "No data: Continuous glucose monitor".
export function alertLabel(type) {
  if (ALERTS[type]) return ALERTS[type];
  const [group, subject, side] = type.split(".");
  if (group === "threshold" && subject) return `${seriesLabel(subject)} ${side === "high" ? "high" : "low"}`;
  if (group === "device" && subject === "data_gap") return `No data: ${kindLabel(side ?? "device")}`;
  if (group === "device" && subject === "stuck_sensor") return `Stuck sensor: ${seriesLabel(side ?? "")}`;
  return humanise(type);
}

// A device offline entry from triage ("bp_cuff BP-0002") as "Blood pressure cuff BP-0002".
export function deviceText(entry) {
  const [kind, ...serial] = entry.split(" ");
  return [kindLabel(kind), ...serial].join(" ");
}
