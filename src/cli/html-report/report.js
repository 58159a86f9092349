(function () {
  'use strict';
  var table = document.getElementById('findings');
  if (!table) return;
  var form = document.getElementById('filters');
  var text = document.getElementById('filter-text');
  var ruleSelect = document.getElementById('filter-rule');
  var namespaceSelect = document.getElementById('filter-namespace');
  var shown = document.getElementById('shown-count');
  var noMatch = document.getElementById('no-match');
  var tbody = table.tBodies[0];
  var headers = Array.prototype.slice.call(table.tHead.rows[0].cells);
  var collator = new Intl.Collator(undefined, { numeric: true, sensitivity: 'base' });
  var items = Array.prototype.slice.call(tbody.rows).map(function (row, index) {
    var values = Array.prototype.slice.call(row.cells).map(function (cell) {
      return cell.textContent.trim();
    });
    return {
      row: row,
      index: index,
      values: values,
      haystack: values.join('\u0000').toLowerCase(),
      rule: row.getAttribute('data-rule'),
      namespace: row.getAttribute('data-namespace'),
    };
  });
  var sortColumn = -1;
  var descending = false;

  function chosen(select) {
    var option = select.options[select.selectedIndex];
    return !option || option.hasAttribute('data-all') ? null : select.value;
  }

  function filter() {
    var words = text.value.toLowerCase().split(/\s+/).filter(Boolean);
    var rule = chosen(ruleSelect);
    var namespace = chosen(namespaceSelect);
    var count = 0;
    items.forEach(function (item) {
      var visible =
        (rule === null || item.rule === rule) &&
        (namespace === null || item.namespace === namespace) &&
        words.every(function (word) {
          return item.haystack.indexOf(word) !== -1;
        });
      item.row.hidden = !visible;
      if (visible) count++;
    });
    shown.textContent = String(count);
    noMatch.hidden = count !== 0;
  }

  function sort(column) {
    descending = column === sortColumn ? !descending : false;
    sortColumn = column;
    var sign = descending ? -1 : 1;
    items
      .slice()
      .sort(function (a, b) {
        return sign * collator.compare(a.values[column], b.values[column]) || a.index - b.index;
      })
      .forEach(function (item) {
        tbody.appendChild(item.row);
      });
    headers.forEach(function (th, index) {
      if (index === column) th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
      else th.removeAttribute('aria-sort');
    });
  }

  headers.forEach(function (th, index) {
    th.querySelector('button').addEventListener('click', function () {
      sort(index);
    });
  });
  text.addEventListener('input', filter);
  ruleSelect.addEventListener('change', filter);
  namespaceSelect.addEventListener('change', filter);
  form.addEventListener('submit', function (event) {
    event.preventDefault();
  });
  form.addEventListener('reset', function () {
    setTimeout(filter, 0);
  });
  form.hidden = false;
  filter();
})();
