/** One line of the bench's target table: what was aimed at, what was measured, and whether it was met. */
export interface TargetLine {
  area: string;
  target: string;
  measured: string;
  /** `null`: no target (a figure shown for information). */
  met: boolean | null;
}
