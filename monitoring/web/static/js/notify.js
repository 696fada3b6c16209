// Telling people an alert needs them: the count in the tab title, a sound for high and critical
// alerts (on by default, the user can turn it off), and desktop notifications once allowed.

const LOUD = new Set(["high", "critical"]);
const SOUND_KEY = "rpm.sound";
const baseTitle = document.title;
let audio = null;

export const soundOn = () => localStorage.getItem(SOUND_KEY) !== "off";

export function setSound(on) {
  localStorage.setItem(SOUND_KEY, on ? "on" : "off");
  if (on) unlockAudio();
}

// Browsers only let a page play sound after the user has interacted with it: the first click
// or key press anywhere makes the audio ready.
function unlockAudio() {
  audio = audio ?? new AudioContext();
  if (audio.state === "suspended") audio.resume();
}
for (const event of ["click", "keydown"]) document.addEventListener(event, unlockAudio, { once: true });

function chime(critical) {
  if (!soundOn() || !audio || audio.state !== "running") return;
  const tones = critical ? [880, 660, 880] : [660, 880];
  tones.forEach((hz, i) => {
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    const at = audio.currentTime + i * 0.22;
    tone.frequency.value = hz;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.2, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.2);
    tone.connect(gain).connect(audio.destination);
    tone.start(at);
    tone.stop(at + 0.21);
  });
}

export const notificationsAllowed = () => "Notification" in window && Notification.permission === "granted";

export async function askForNotifications() {
  if (!("Notification" in window)) return "unsupported";
  return Notification.permission === "default" ? Notification.requestPermission() : Notification.permission;
}

export function setCount(n) {
  document.title = n > 0 ? `(${n}) ${baseTitle}` : baseTitle;
}

// Called with each alert the queue learns of and what it knew before: a new alert, or one that
// became high or critical, is announced once.
export function announce(alert, before, patientName) {
  if (!LOUD.has(alert.severity) || alert.status !== "open") return;
  if (before && LOUD.has(before.severity) && (before.severity === alert.severity || alert.severity !== "critical")) return;
  chime(alert.severity === "critical");
  if (notificationsAllowed()) {
    new Notification(`${alert.severity === "critical" ? "Critical" : "High"} alert: ${patientName}`, {
      body: alert.summary, tag: alert.id,
    });
  }
}
