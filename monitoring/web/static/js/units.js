// Glucose in the unit the signed-in user chose (stored values are mg/dL); other values as stored.

import { auth } from "./api.js";
import { unitLabel } from "./labels.js";

export const MG_PER_MMOL = 18.016;

export const glucoseUnit = () => auth.me?.glucose_unit || "mg/dL";
const inMmol = () => glucoseUnit() === "mmol/L";

// A value as the user reads it: [number, unit]; glucose converted, anything else unchanged.
export function shown(value, unit) {
  if (unit === "mg/dL" && inMmol()) return [value / MG_PER_MMOL, "mmol/L"];
  return [value, unit];
}

// Digits worth showing: mmol/L needs one decimal, mg/dL none.
export function digitsFor(unit, fallback = 0) {
  return unit === "mmol/L" ? 1 : fallback;
}

// "110 mg/dL" or "6.1 mmol/L"; digits for anything that is not glucose.
export function valueText(value, unit, digits = 0) {
  if (value === null || value === undefined) return "–";
  const [v, u] = shown(value, unit);
  return `${Number(v).toFixed(u === "mmol/L" ? 1 : digits)} ${unitLabel(u)}`;
}

// A glucose threshold as the user reads it (70 mg/dL -> "3.9 mmol/L").
export const glucoseText = (mgdl) => valueText(mgdl, "mg/dL");

// Server text (an alert's summary, a triage flag) with its mg/dL figures in the user's unit.
export function glucoseInText(text) {
  if (!text || glucoseUnit() === "mg/dL") return text;
  const mmol = (value) => (Number(value) / MG_PER_MMOL).toFixed(1);
  // "70-180 mg/dL" converts both ends, "<54 mg/dL" keeps its sign.
  return text.replace(/(\d+(?:\.\d+)?)(?:-(\d+(?:\.\d+)?))? ?mg\/dL/g,
    (_, low, high) => `${mmol(low)}${high ? `-${mmol(high)}` : ""} mmol/L`);
}
