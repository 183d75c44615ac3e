/**
 * isocell's icons. The `jp-icon3` class lets Lab's themes recolour them (light and dark).
 */
import { LabIcon } from '@jupyterlab/ui-components';

/** A cell inside a closed box: a cell run in its own environment. */
export const environmentsIcon = new LabIcon({
  name: 'isocell:environments',
  svgstr: `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M12 1.5 2.5 6.75v10.5L12 22.5l9.5-5.25V6.75L12 1.5Zm0 2.3 7.1 3.95L12 11.7 4.9 7.75 12 3.8ZM4.5 9.45l6.5 3.6v7.1l-6.5-3.6v-7.1Zm8.5 10.7v-7.1l6.5-3.6v7.1l-6.5 3.6Z"/>
  </g>
</svg>`
});

/** Three linked tasks: the notebook as an Airflow DAG. */
export const dagIcon = new LabIcon({
  name: 'isocell:dag',
  svgstr: `<svg xmlns="http://www.w3.org/2000/svg" width="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M3 3h6v5H3V3Zm12 6.5h6v5h-6v-5ZM3 16h6v5H3v-5Zm6-10.5h3.5a1 1 0 0 1 1 1V11H15v2h-1.5v4.5a1 1 0 0 1-1 1H9v-2h2.5v-9H9v-2Z"/>
  </g>
</svg>`
});
